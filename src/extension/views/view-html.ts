// HTML of CT Lens's smaller webviews (the Routing view, the evaluation table): one nonce'd script bundle and one
// stylesheet from the extension's own files, under the same strict Content Security Policy as the viewer.

import { contentSecurityPolicy, escapeHtml } from '../editor/webview-html';

export interface ViewHtmlParams {
  cspSource: string;
  nonce: string;
  scriptUri: string;
  styleUri: string;
  title: string;
}

export function viewHtml(p: ViewHtmlParams): string {
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
<body>
<div id="app"></div>
<script nonce="${a(p.nonce)}" src="${a(p.scriptUri)}"></script>
</body>
</html>`;
}
