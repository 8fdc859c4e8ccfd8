import assert from 'node:assert/strict';
import { contentSecurityPolicy, createNonce, escapeHtml, webviewHtml } from '../../../src/extension/editor/webview-html';
import { maxVoxelBytes, viewerSettings } from '../../../src/extension/editor/settings';
import { DEFAULT_MAX_VOXEL_BYTES } from '../../../src/core/nifti/decode';

describe('extension/editor/webview-html', () => {
  const cspSource = 'https://file+.vscode-resource.vscode-cdn.net';

  it('allows only nonce scripts and the extension’s own styles, images and fonts', () => {
    const csp = contentSecurityPolicy(cspSource, 'abc123');
    const directives = Object.fromEntries(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    assert.deepEqual(directives, {
      'default-src': ["'none'"],
      'img-src': [cspSource, 'blob:', 'data:'],
      'style-src': [cspSource],
      'font-src': [cspSource],
      'script-src': ["'nonce-abc123'"],
    });
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:\/\/(?!file\+)/);
  });

  it('writes one nonce’d script and the stylesheets, the shared one first, and no settings into the page', () => {
    const html = webviewHtml({
      cspSource,
      nonce: 'n0nce',
      scriptUri: `${cspSource}/ext/dist/webview/viewer.js`,
      styleUri: `${cspSource}/ext/media/viewer/viewer.css`,
      commonStyleUri: `${cspSource}/ext/media/common/legend.css`,
      title: 'a<b>.nii.gz',
    });
    const scripts = html.match(/<script[^>]*>/g) ?? [];
    assert.equal(scripts.length, 1);
    assert.match(scripts[0]!, /nonce="n0nce"/);
    assert.match(scripts[0]!, /src="[^"]*\/dist\/webview\/viewer\.js"/);
    const styles = [...html.matchAll(/<link rel="stylesheet" href="([^"]*)">/g)].map((m) => m[1]);
    assert.deepEqual(styles, [`${cspSource}/ext/media/common/legend.css`, `${cspSource}/ext/media/viewer/viewer.css`]);
    // The settings reach the viewer in its init reply only (one path, issue 10), never as attributes of the page.
    assert.match(html, /<body>/);
    assert.doesNotMatch(html, /data-ctl-/);
    assert.match(html, /<title>a&lt;b&gt;\.nii\.gz<\/title>/);
    assert.doesNotMatch(html, / style=/, 'no inline style attributes');
    assert.match(html, /id="app"/);
  });

  it('gives the smaller views (Routing, evaluation) the same policy, their own bundle and a bare body', () => {
    const html = webviewHtml({
      cspSource,
      nonce: 'n0nce',
      scriptUri: `${cspSource}/ext/dist/webview/routing.js`,
      styleUri: `${cspSource}/ext/media/views/views.css`,
      title: 'Evaluation: a&b',
    });
    assert.ok(html.includes(`content="${escapeHtml(contentSecurityPolicy(cspSource, 'n0nce'))}"`));
    assert.match(html, /<script nonce="n0nce" src="[^"]*\/dist\/webview\/routing\.js"><\/script>/);
    assert.match(html, /<link rel="stylesheet" href="[^"]*\/media\/views\/views\.css">/);
    assert.match(html, /<body>/);
    assert.match(html, /<title>Evaluation: a&amp;b<\/title>/);
  });

  it('makes fresh, unguessable nonces and escapes HTML', () => {
    const a = createNonce();
    assert.notEqual(a, createNonce());
    assert.ok(a.length >= 24);
    assert.equal(escapeHtml(`"<&>'`), '&quot;&lt;&amp;&gt;&#39;');
  });
});

describe('extension/editor/settings', () => {
  it('reads viewer settings with defaults for unset or invalid values', () => {
    const values: Record<string, unknown> = { 'viewer.convention': 'neurological', 'viewer.layout': '3x3' };
    const get = <T,>(key: string) => values[key] as T | undefined;
    assert.deepEqual(viewerSettings(get), { convention: 'neurological', layout: '1x3', renderer: 'auto', windowPreset: 'auto' });
    values['viewer.windowPreset'] = 'lung';
    assert.equal(viewerSettings(get).windowPreset, 'lung');
    values['viewer.windowPreset'] = 'abdomen';
    assert.equal(viewerSettings(get).windowPreset, 'auto', 'an unknown preset falls back to auto');
  });

  it('turns ctlens.maxVolumeMB into bytes, falling back to the decoder default', () => {
    assert.equal(maxVoxelBytes(<T,>(k: string) => (k === 'maxVolumeMB' ? (512 as T) : undefined)), 512 * 1024 * 1024);
    assert.equal(maxVoxelBytes(<T,>() => undefined as T | undefined), DEFAULT_MAX_VOXEL_BYTES);
    assert.equal(maxVoxelBytes(<T,>() => -3 as T), DEFAULT_MAX_VOXEL_BYTES);
  });
});
