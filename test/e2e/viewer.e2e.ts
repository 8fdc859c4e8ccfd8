// The CT Lens viewer in a real VS Code: the packaged extension opens the real head CT in its custom editor, and the
// webview's DOM contract (C3: #ctl-root data-state/dims/renderer, #ctl-goto, #ctl-readout, presets, #ctl-window,
// #ctl-error, #ctl-notice) is checked against nibabel's reading of the same file. Screenshots of every step go to
// test-artifacts/e2e/<session>/.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { windowPreset, type WindowPresetId } from '../../src/core/volume';
import { imageStats, makeWorkspace, sample, Session, waitForAttribute, type ImageStats } from './harness';

const CT = 'head_ct_invesalius.nii.gz';
const MASK = 'head_ct_invesalius_bone_mask.nii.gz';
/** A command the extension contributes: once the palette lists it, .nii.gz files open in the custom editor. */
const EXTENSION_COMMAND = 'CT Lens: Open Overlay…';
/** File voxel indices (i, j, k): the centre (soft tissue), a voxel in the skull, a corner (air). */
const VOXELS: [number, number, number][] = [
  [128, 128, 54],
  [60, 74, 63],
  [5, 5, 5],
];

interface NibabelReference {
  shape: number[];
  axcodes: string;
  values: number[];
}

/** nibabel's reading of the sample, computed now with Debian's python3 (CI installs python3-nibabel). */
function nibabelReference(): NibabelReference {
  const python = process.env.CTLENS_PYTHON ?? '/usr/bin/python3';
  try {
    const out = execFileSync(
      python,
      [`${__dirname}/nibabel_voxels.py`, sample(CT), ...VOXELS.map((v) => v.join(','))],
      { encoding: 'utf8' },
    );
    return JSON.parse(out) as NibabelReference;
  } catch (e) {
    throw new Error(
      `nibabel reference failed (${python} with python3-nibabel is needed: apt-get install python3-nibabel): ${String(e)}`,
    );
  }
}

/** The workspace each session opens: the sample, a truncated copy and a file that is not NIfTI at all. */
function viewerWorkspace(name: string): string {
  const bytes = fs.readFileSync(sample(CT));
  return makeWorkspace(name, {
    [CT]: { copy: sample(CT) },
    [MASK]: { copy: sample(MASK) },
    'broken/truncated.nii.gz': bytes.subarray(0, Math.floor(bytes.length * 0.55)),
    'broken/not-a-volume.nii': 'this is a text file with a .nii name\n',
  });
}

async function openCt(s: Session, file = CT): Promise<void> {
  await s.openFile(file);
  const root = s.viewer().locator('#ctl-root');
  await waitForAttribute(root, 'data-state', (v) => v === 'ready' || v === 'error', 120_000);
  const state = await root.getAttribute('data-state');
  if (state !== 'ready') {
    const text = await s.viewer().locator('#ctl-error').innerText().catch(() => '');
    throw new Error(`viewer state ${state} opening ${file}: ${text}`);
  }
}

async function axialStats(s: Session): Promise<ImageStats> {
  const png = await s.viewer().locator('#ctl-view-axial canvas').first().screenshot();
  return imageStats(s, png);
}

async function gotoVoxel(s: Session, ijk: [number, number, number]): Promise<number> {
  const v = s.viewer();
  const goto = v.locator('#ctl-goto');
  await goto.fill(ijk.join(','));
  await goto.press('Enter');
  const readout = v.locator('#ctl-readout');
  await waitForAttribute(readout, 'data-ijk', ijk.join(','), 10_000);
  const value = await readout.getAttribute('data-value');
  assert.ok(value !== null && value !== '', `#ctl-readout has no data-value at ${ijk}`);
  return Number(value);
}

async function applyPreset(s: Session, id: WindowPresetId): Promise<{ center: number; width: number }> {
  const v = s.viewer();
  await v.locator(`[data-preset="${id}"]`).click();
  const want = windowPreset(id);
  const win = v.locator('#ctl-window');
  await waitForAttribute(win, 'data-center', (c) => Number(c) === want.center, 10_000);
  await waitForAttribute(win, 'data-width', (w) => Number(w) === want.width, 10_000);
  return { center: Number(await win.getAttribute('data-center')), width: Number(await win.getAttribute('data-width')) };
}

describe('CT Lens viewer in VS Code (code-server + Chromium)', function () {
  let reference: NibabelReference;

  before(function () {
    reference = nibabelReference();
  });

  describe('with WebGL2', function () {
    let s: Session;

    before(async function () {
      s = await Session.open({ name: 'viewer-webgl2', workspace: viewerWorkspace('viewer-webgl2') });
      await s.waitForCommand(EXTENSION_COMMAND);
      await s.screenshot('workbench');
    });

    after(async function () {
      await s?.close();
    });

    it('opens the head CT in the CT Lens editor with the dimensions nibabel reads', async function () {
      await openCt(s);
      const root = s.viewer().locator('#ctl-root');
      assert.equal(await root.getAttribute('data-dims'), reference.shape.slice(0, 3).join(','));
      await waitForAttribute(root, 'data-first-paint', '1', 10_000);
      assert.equal(await root.getAttribute('data-renderer'), 'webgl2');
      // The tab is the custom editor, not the text editor's "binary file" notice.
      assert.equal(await s.page.locator('.editor-container', { hasText: 'is either binary' }).count(), 0);
      await s.screenshot('head-ct-open');
      assert.match(s.extensionLog(), /head_ct_invesalius/, 'the CT Lens output channel mentions the opened file');
    });

    it('reads the value under known voxels exactly as nibabel does', async function () {
      for (const [n, ijk] of VOXELS.entries()) {
        const value = await gotoVoxel(s, ijk);
        assert.equal(value, reference.values[n], `value at voxel ${ijk}`);
      }
      const text = await s.viewer().locator('#ctl-readout').innerText();
      assert.match(text, /5, 5, 5/, `readout text names the voxel: ${text}`);
      await s.screenshot('voxel-readout');
    });

    it('paints a non-blank axial slice', async function () {
      await gotoVoxel(s, VOXELS[0]!);
      const stats = await axialStats(s);
      assert.ok(stats.std > 10 && stats.levels > 20, `axial view looks blank: ${JSON.stringify(stats)}`);
    });

    it('applies window presets', async function () {
      const win = s.viewer().locator('#ctl-window');
      const initial = `${await win.getAttribute('data-center')}/${await win.getAttribute('data-width')}`;
      const initialPicture = await axialStats(s);
      const bone = await applyPreset(s, 'bone');
      assert.notEqual(`${bone.center}/${bone.width}`, initial, 'the bone preset changes the window');
      await s.screenshot('preset-bone');
      await applyPreset(s, 'brain');
      const brainPicture = await axialStats(s);
      assert.ok(
        Math.abs(brainPicture.mean - initialPicture.mean) > 1,
        `the picture changes with the window: mean grey ${initialPicture.mean} → ${brainPicture.mean}`,
      );
      await s.screenshot('preset-brain');
    });

    it('shows the bone mask as an overlay picked with CT Lens: Open Overlay…', async function () {
      await s.runCommand(EXTENSION_COMMAND);
      await s.acceptFileDialog(path.join(s.options.workspace, MASK));
      const root = s.viewer().locator('#ctl-root');
      const id = await waitForAttribute(root, 'data-overlay', (v) => !!v && v.includes(MASK), 60_000);
      assert.ok(id);
      assert.ok(await s.viewer().locator('#ctl-overlay').isVisible(), '#ctl-overlay panel is shown');
      // Voxel readout of the CT is unchanged by the overlay.
      assert.equal(await gotoVoxel(s, VOXELS[1]!), reference.values[1]);
      await s.screenshot('bone-mask-overlay');
      assert.match(s.extensionLog(), /overlay head_ct_invesalius_bone_mask/);
    });

    it('refuses a truncated file with a clear message and VS Code keeps working', async function () {
      await s.openFile('broken/truncated.nii.gz');
      const v = s.viewer();
      await waitForAttribute(v.locator('#ctl-root'), 'data-state', 'error', 60_000);
      const message = await v.locator('#ctl-error').innerText();
      assert.match(message, /^Truncated\b/, `error text: ${message}`);
      await s.screenshot('truncated-error');

      await s.openFile('broken/not-a-volume.nii');
      await waitForAttribute(s.viewer().locator('#ctl-root'), 'data-state', 'error', 60_000);
      assert.match(await s.viewer().locator('#ctl-error').innerText(), /^NotNifti\b/);
      await s.screenshot('not-nifti-error');

      // Still a working editor and extension host: the good file opens again and answers.
      await openCt(s);
      assert.equal(await gotoVoxel(s, VOXELS[1]!), reference.values[1]);
      const notes = (await s.notifications()).join('\n');
      assert.doesNotMatch(notes, /terminated unexpectedly|crashed/i, notes);
      assert.doesNotMatch(s.extensionHostLog(), /Extension host terminated|\[error\].*ctlens/i);
      assert.match(s.extensionLog(), /Truncated/, 'the error is logged in the CT Lens output channel');
    });

    it('applies viewer settings changed while the viewer is open (layout, renderer, window preset)', async function () {
      await openCt(s);
      const root = s.viewer().locator('#ctl-root');
      const win = s.viewer().locator('#ctl-window');
      assert.equal(await root.getAttribute('data-renderer'), 'webgl2');
      // Workspace settings, as a user edits them: VS Code reads the file again and tells the extension.
      const settingsFile = path.join(s.options.workspace, '.vscode', 'settings.json');
      fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
      fs.writeFileSync(
        settingsFile,
        JSON.stringify({ 'ctlens.viewer.layout': '2x2', 'ctlens.viewer.renderer': 'canvas2d', 'ctlens.viewer.windowPreset': 'lung' }),
      );
      try {
        await waitForAttribute(root, 'data-layout', '2x2', 30_000);
        await waitForAttribute(root, 'data-renderer', 'canvas2d', 10_000);
        await waitForAttribute(win, 'data-center', '-600', 10_000);
        assert.equal(await win.getAttribute('data-width'), '1500');
        assert.equal(await gotoVoxel(s, VOXELS[1]!), reference.values[1], 'the 2D renderer reads the same value');
        await s.screenshot('live-settings');
      } finally {
        fs.writeFileSync(settingsFile, '{}');
      }
      await waitForAttribute(root, 'data-layout', '1x3', 30_000);
      await waitForAttribute(root, 'data-renderer', 'webgl2', 10_000);
    });
  });

  describe('without WebGL (Chromium --disable-3d-apis)', function () {
    let s: Session;

    before(async function () {
      s = await Session.open({ name: 'viewer-canvas2d', workspace: viewerWorkspace('viewer-canvas2d'), disable3d: true });
      await s.waitForCommand(EXTENSION_COMMAND);
    });

    after(async function () {
      await s?.close();
    });

    it('falls back to the 2D renderer with a notice and the same values', async function () {
      await openCt(s);
      const v = s.viewer();
      const root = v.locator('#ctl-root');
      assert.equal(await root.getAttribute('data-renderer'), 'canvas2d');
      assert.equal(await root.getAttribute('data-dims'), reference.shape.slice(0, 3).join(','));
      const notice = v.locator('#ctl-notice');
      assert.ok(await notice.isVisible(), '#ctl-notice is shown');
      assert.match(await notice.innerText(), /WebGL|2D/i);
      for (const [n, ijk] of VOXELS.entries()) assert.equal(await gotoVoxel(s, ijk), reference.values[n], `value at ${ijk}`);
      await gotoVoxel(s, VOXELS[0]!);
      const stats = await axialStats(s);
      assert.ok(stats.std > 10 && stats.levels > 20, `2D axial view looks blank: ${JSON.stringify(stats)}`);
      await applyPreset(s, 'bone');
      await s.screenshot('canvas2d-bone');
    });
  });
});
