// DICOM in a real VS Code (code-server + Chromium, the packaged VSIX; issue 12): a .dcm file of the real head CT
// written as a 108-file series (test/fixtures/dicom/make_series.py) opens the whole series in the CT Lens viewer
// with pydicom's dimensions and HU under known voxels; a report is generated from it; a folder holding two series
// opens from the Explorer's context menu (CT Lens: Open DICOM Series) after a pick between them; no identifying
// attribute reaches the CT Lens log. Screenshots: test-artifacts/e2e/dicom/.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeWorkspace, REPO_ROOT, Session, waitForAttribute } from './harness';

const PYTHON = process.env.CTLENS_PYTHON ?? '/usr/bin/python3';
const VOXELS: [number, number, number][] = [
  [128, 128, 54],
  [60, 74, 63],
  [5, 5, 5],
];

/** pydicom's HU at voxel (column i, row j, k-th slice along the axial normal) of a folder's series. */
function pydicomValues(dir: string): number[] {
  const script = [
    'import sys, glob, pydicom',
    'files = [pydicom.dcmread(f) for f in glob.glob(sys.argv[1] + "/*.dcm")]',
    'files.sort(key=lambda d: float(d.ImagePositionPatient[2]))',
    'out = []',
    'for v in sys.argv[2:]:',
    '    i, j, k = map(int, v.split(","))',
    '    d = files[k]',
    '    out.append(float(d.pixel_array[j, i]) * float(d.RescaleSlope) + float(d.RescaleIntercept))',
    'print(out)',
  ].join('\n');
  return JSON.parse(execFileSync(PYTHON, ['-c', script, dir, ...VOXELS.map((v) => v.join(','))], { encoding: 'utf8' })) as number[];
}

async function readValue(s: Session, ijk: [number, number, number]): Promise<number> {
  const v = s.viewer();
  await v.locator('#ctl-goto').fill(ijk.join(','));
  await v.locator('#ctl-goto').press('Enter');
  const readout = v.locator('#ctl-readout');
  await waitForAttribute(readout, 'data-ijk', ijk.join(','), 10_000);
  return Number(await readout.getAttribute('data-value'));
}

describe('DICOM series in VS Code (code-server + Chromium)', function () {
  let s: Session;
  let workspace: string;
  let firstFile: string;

  before(async function () {
    workspace = makeWorkspace('dicom', {});
    execFileSync(PYTHON, [path.join(REPO_ROOT, 'test', 'fixtures', 'dicom', 'make_series.py'), workspace, 'axial', 'two_series'], { encoding: 'utf8' });
    firstFile = fs.readdirSync(path.join(workspace, 'axial')).filter((f) => f.endsWith('.dcm')).sort()[0]!;
    s = await Session.open({ name: 'dicom', workspace });
    await s.waitForCommand('CT Lens: Open DICOM Series');
  });

  after(async function () {
    await s?.close();
  });

  it('a .dcm file opens its whole series, with the HU pydicom reads', async function () {
    const reference = pydicomValues(path.join(workspace, 'axial'));
    await s.openFile(`axial/${firstFile}`);
    const root = s.viewer().locator('#ctl-root');
    await waitForAttribute(root, 'data-state', (v) => v === 'ready' || v === 'error', 120_000);
    assert.equal(await root.getAttribute('data-state'), 'ready', await s.viewer().locator('#ctl-error').innerText().catch(() => ''));
    assert.equal(await root.getAttribute('data-dims'), '256,256,108');
    await waitForAttribute(root, 'data-first-paint', '1', 10_000);
    for (const [n, ijk] of VOXELS.entries()) assert.equal(await readValue(s, ijk), reference[n], `HU at ${ijk}`);
    await s.screenshot('series-open');
    const log = s.extensionLog();
    assert.match(log, new RegExp(`${firstFile}: 256×256×108 int16`));
    for (const secret of ['Testpatient', 'SECRET', '19700101']) assert.ok(!log.includes(secret), `${secret} in the CT Lens log`);
  });

  it('generates a report from the series', async function () {
    await s.runCommand('CT Lens: Generate Report');
    const report = s.viewer().locator('#ctl-report');
    await waitForAttribute(report, 'data-status', 'done', 240_000);
    const text = (await s.viewer().locator('#ctl-report-text').innerText()).trim();
    assert.ok(text.length > 40, `report text: ${text}`);
    assert.match(await s.viewer().locator('#ctl-report-notices').innerText(), /research use only — not for diagnosis/);
    for (const secret of ['Testpatient', 'SECRET']) assert.ok(!text.includes(secret));
    await s.screenshot('series-report');
  });

  it('opens a chosen series of a folder from the Explorer context menu', async function () {
    // The first test expanded axial/ (108 rows): collapse it so two_series/ is in the Explorer's visible rows.
    const axial = s.page
      .locator('.explorer-folders-view .monaco-list-row[aria-expanded="true"]')
      .filter({ has: s.page.locator('.label-name', { hasText: /^axial$/ }) })
      .first();
    if (await axial.count()) await axial.click();
    const row = s.page
      .locator('.explorer-folders-view .monaco-list-row')
      .filter({ has: s.page.locator('.label-name', { hasText: /^two_series$/ }) })
      .first();
    await row.waitFor({ timeout: 30_000 });
    await row.click({ button: 'right' });
    // The web workbench's context menu acts on the keyboard reliably; a plain click left it open.
    await s.page.locator('.monaco-menu .action-item', { hasText: 'Open DICOM Series' }).first().hover();
    await s.page.keyboard.press('Enter');
    const pick = s.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'two_series-b' }).first();
    await pick.waitFor({ timeout: 60_000 });
    assert.match(await s.page.locator('.quick-input-widget').innerText(), /2 series in two_series/);
    await s.screenshot('series-pick');
    await pick.click();
    const root = s.viewer().locator('#ctl-root');
    await waitForAttribute(root, 'data-dims', '64,48,6', 120_000);
    assert.equal(await root.getAttribute('data-state'), 'ready');
    await s.screenshot('second-series-open');
  });
});
