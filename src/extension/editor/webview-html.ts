// The viewer webview's HTML and its Content Security Policy. Nothing runs but our own bundle (nonce'd), styles and
// images come only from the extension's own files (plus blob:/data: images), no remote content, no eval, no inline
// style attributes. No `vscode` import, so the policy is unit-tested.

import { randomBytes } from 'node:crypto';
import type { ViewerSettings } from '../../shared/protocol';

export interface ViewerHtmlParams {
  /** webview.cspSource */
  cspSource: string;
  nonce: string;
  /** webview URIs (asWebviewUri) of dist/webview/viewer.js and media/viewer/viewer.css. */
  scriptUri: string;
  styleUri: string;
  settings: ViewerSettings;
  title: string;
}

export function createNonce(): string {
  return randomBytes(18).toString('base64');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} blob: data:`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export function viewerHtml(p: ViewerHtmlParams): string {
  const a = escapeHtml;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${a(contentSecurityPolicy(p.cspSource, p.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${a(p.styleUri)}">
<title>${a(p.title)}</title>
</head>
<body data-ctl-renderer="${a(p.settings.renderer)}" data-ctl-layout="${a(p.settings.layout)}" data-ctl-convention="${a(p.settings.convention)}" data-ctl-window-preset="${a(p.settings.windowPreset ?? 'auto')}">
<div id="app"></div>
<script nonce="${a(p.nonce)}" src="${a(p.scriptUri)}"></script>
</body>
</html>`;
}
