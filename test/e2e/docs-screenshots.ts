// Screenshots of the real UI for README.md, taken with the e2e harness in code-server (not part of `npm test`):
//   CTLENS_E2E_SPECS=test/e2e/docs-screenshots.ts npm run test:e2e
// Writes docs/screenshots/vscode-viewer.png: the head CT in the CT Lens editor, 2×2 layout with the 3D view, the
// bone mask as an overlay.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeWorkspace, REPO_ROOT, sample, Session, waitForAttribute } from './harness';

const CT = 'head_ct_invesalius.nii.gz';
const MASK = 'head_ct_invesalius_bone_mask.nii.gz';
const OUT = path.join(REPO_ROOT, 'docs', 'screenshots');

describe('README screenshots', function () {
  it('the viewer with an overlay in VS Code', async function () {
    const ws = makeWorkspace('docs', { [CT]: { copy: sample(CT) }, [MASK]: { copy: sample(MASK) } });
    const s = await Session.open({ name: 'docs', workspace: ws, viewport: { width: 1600, height: 960 } });
    try {
      await s.waitForCommand('CT Lens: Open Overlay…');
      await s.openFile(CT);
      const v = s.viewer();
      await waitForAttribute(v.locator('#ctl-root'), 'data-state', 'ready', 120_000);
      await v.locator('.ctl-toolbar [data-layout="2x2"]').click();
      await s.runCommand('CT Lens: Open Overlay…');
      await s.acceptFileDialog(path.join(ws, MASK));
      await waitForAttribute(v.locator('#ctl-root'), 'data-overlay', (id) => !!id, 60_000);
      await v.locator('#ctl-goto').fill('128,150,70');
      await v.locator('#ctl-goto').press('Enter');
      await waitForAttribute(v.locator('#ctl-readout'), 'data-ijk', '128,150,70', 10_000);
      await s.page.waitForTimeout(1500); // let the 3D view finish its first render
      fs.mkdirSync(OUT, { recursive: true });
      await s.page.screenshot({ path: path.join(OUT, 'vscode-viewer.png') });
    } finally {
      await s.close();
    }
  });
});
