// The HTML and Content Security Policy of every CT Lens webview (the viewer, the Routing view, the evaluation table).
// Nothing runs but our own bundle (nonce'd), styles and images come only from the extension's own files (plus
// blob:/data: images), no remote content, no eval, no inline style attributes. One page builder, so no webview can
// drift from the policy; no `vscode` import, so the policy is unit-tested.

import { randomBytes } from 'node:crypto';

export interface WebviewHtmlParams {
  /** webview.cspSource */
  cspSource: string;
  nonce: string;
  /** webview URIs (asWebviewUri) of the page's bundle in dist/webview/ and its stylesheet in media/. */
  scriptUri: string;
  styleUri: string;
  /** A stylesheet the page shares with other webviews (media/common/), linked before its own so its own rules win. */
  commonStyleUri?: string;
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

/** A page with one nonce'd script bundle and its stylesheets (its own, and a shared one) from the extension's files. */
export function webviewHtml(p: WebviewHtmlParams): string {
  const a = escapeHtml;
  const common = p.commonStyleUri ? `<link rel="stylesheet" href="${a(p.commonStyleUri)}">\n` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${a(contentSecurityPolicy(p.cspSource, p.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
${common}<link rel="stylesheet" href="${a(p.styleUri)}">
<title>${a(p.title)}</title>
</head>
<body>
<div id="app"></div>
<script nonce="${a(p.nonce)}" src="${a(p.scriptUri)}"></script>
</body>
</html>`;
}
