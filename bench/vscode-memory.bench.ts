// Ten viewers in VS Code (code-server + headless Chromium): webview and extension-host memory with them open and
// after closing them, and the webview's ArrayBuffer limit (issue 14). Runs test/e2e/bench-viewers-memory.ts through
// the end-to-end runner (which packages the extension; CTLENS_E2E_NO_PACKAGE=1 reuses the last VSIX).
//   npm run bench -- vscode-memory        (CTLENS_BENCH_VIEWERS=N for another count)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..');
const r = spawnSync('bash', ['test/e2e/run.sh'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CTLENS_E2E_SPECS: 'test/e2e/bench-viewers-memory.ts' },
});
process.exit(r.status ?? 1);
