// The HTML and Content Security Policy of every CT Lens webview (the viewer, the Routing view, the evaluation table).
// Nothing runs but our own bundle (nonce'd), styles and images come only from the extension's own files (plus
// blob:/data: images), no remote content, no eval, no inline style attributes. One page builder, so no webview can
// drift from the policy; no `vscode` import, so the policy is unit-tested.

import { randomBytes } from 'node:crypto';
import type { ViewerSettings } from '../../shared/protocol';

export interface WebviewHtmlParams {
  /** webview.cspSource */
  cspSource: string;
  nonce: string;
  /** webview URIs (asWebviewUri) of the page's bundle in dist/webview/ and its stylesheet in media/. */
  scriptUri: string;
  styleUri: string;
  title: string;
  /** Attributes of <body> (names as written, values escaped), e.g. settings the bundle reads at start. */
  bodyAttributes?: Record<string, string>;
}

export interface ViewerHtmlParams extends Omit<WebviewHtmlParams, 'bodyAttributes'> {
  settings: ViewerSettings;
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

/** A page with one nonce'd script bundle and one stylesheet from the extension's own files. */
export function webviewHtml(p: WebviewHtmlParams): string {
  const a = escapeHtml;
  const body = Object.entries(p.bodyAttributes ?? {})
    .map(([name, value]) => ` ${name}="${a(value)}"`)
    .join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${a(contentSecurityPolicy(p.cspSource, p.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${a(p.styleUri)}">
<title>${a(p.title)}</title>
</head>
<body${body}>
<div id="app"></div>
<script nonce="${a(p.nonce)}" src="${a(p.scriptUri)}"></script>
</body>
</html>`;
}

/** The viewer's page: the viewer settings ride on <body> so the first frame already uses them. */
export function viewerHtml(p: ViewerHtmlParams): string {
  const { settings, ...page } = p;
  return webviewHtml({
    ...page,
    bodyAttributes: {
      'data-ctl-renderer': settings.renderer,
      'data-ctl-layout': settings.layout,
      'data-ctl-convention': settings.convention,
      'data-ctl-window-preset': settings.windowPreset ?? 'auto',
    },
  });
}
