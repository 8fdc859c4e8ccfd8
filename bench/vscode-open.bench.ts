// Time from opening a CT in VS Code (code-server + headless Chromium) to its first slice and to fully loaded, for
// the head CT and a generated 512×512×400 CT (issue 11). Runs test/e2e/bench-open-times.ts through the end-to-end
// runner (which packages the extension; CTLENS_E2E_NO_PACKAGE=1 reuses the last VSIX).
//   npm run bench -- vscode-open        (CTLENS_BENCH_RUNS=N, CTLENS_BENCH_LAYOUT=2x2)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const r = spawnSync('bash', ['test/e2e/run.sh'], {
  cwd: join(__dirname, '..'),
  stdio: 'inherit',
  env: { ...process.env, CTLENS_E2E_SPECS: 'test/e2e/bench-open-times.ts' },
});
process.exit(r.status ?? 1);
