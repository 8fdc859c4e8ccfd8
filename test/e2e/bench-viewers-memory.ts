// Memory of many viewers in VS Code itself (issue 14): the webview processes and the extension host, measured
// with ten viewers open at once and again after they are closed, plus the webview's own ArrayBuffer limit.
// A benchmark that prints figures (it asserts only that the viewers opened), not part of `npm test`:
//   npm run bench -- vscode-memory        (bench/vscode-memory.bench.ts runs this spec through test/e2e/run.sh)
// Memory is PSS (proportional set size, /proc/PID/smaps_rollup): shared pages are split between the processes that
// map them, so the sums do not count Chromium's shared libraries ten times.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeWorkspace, REPO_ROOT, sample, Session, waitForAttribute } from './harness';

const CT = 'head_ct_invesalius.nii.gz';
const VIEWERS = Number(process.env.CTLENS_BENCH_VIEWERS ?? 10);
const MIB = 2 ** 20;
/** The 1024×1024×700 int16 volume (1.37 GiB of voxels) that `npm run bench -- big-volume` generates. */
const BIG = path.join(REPO_ROOT, '.cache', 'bench', 'big_1024x1024x700_int16_v1.nii');

interface Proc {
  pid: number;
  ppid: number;
  cmd: string;
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      out.push({ pid: Number(name), ppid, cmd });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function pssMiB(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? (Number(m[1]) * 1024) / MIB : 0;
  } catch {
    return 0;
  }
}

function descendants(root: number, all: Proc[]): Proc[] {
  const kids = new Map<number, Proc[]>();
  for (const p of all) kids.set(p.ppid, [...(kids.get(p.ppid) ?? []), p]);
  const out: Proc[] = [];
  const walk = (pid: number) => {
    for (const k of kids.get(pid) ?? []) {
      out.push(k);
      walk(k.pid);
    }
  };
  walk(root);
  return out;
}

/** PSS of the session's Chromium by process type, and of the code-server's extension host(s). */
function memory(session: Session): Record<string, number> {
  const all = processes();
  // The browser process names the session's profile; its renderers, GPU process and zygotes descend from it.
  const browser = all.find((p) => !p.cmd.includes('--type=') && new RegExp(`--user-data-dir=\\S*/chromium/${session.options.name}( |$)`).test(p.cmd));
  const tree = browser ? [browser, ...descendants(browser.pid, all)] : [];
  const sums: Record<string, number> = {};
  for (const p of tree) {
    const type = /--type=(\S+)/.exec(p.cmd)?.[1] ?? 'browser';
    const key = type === 'renderer' ? 'renderers' : type === 'gpu-process' ? 'gpu' : type === 'browser' ? 'browser' : 'other';
    sums[key] = (sums[key] ?? 0) + pssMiB(p.pid);
  }
  sums.renderer_count = tree.filter((p) => p.cmd.includes('--type=renderer')).length;
  const host = descendants(session.server.cs.pid, all).filter((p) => p.cmd.includes('extensionHost'));
  sums.extension_host = host.reduce((a, p) => a + pssMiB(p.pid), 0);
  return sums;
}

function line(label: string, m: Record<string, number>): string {
  const f = (k: string) => (m[k] ?? 0).toFixed(0).padStart(6);
  const chromium = (m.browser ?? 0) + (m.renderers ?? 0) + (m.gpu ?? 0) + (m.other ?? 0);
  return `${label.padEnd(26)} chromium ${chromium.toFixed(0).padStart(6)} MiB (renderers ${f('renderers')} in ${m.renderer_count}, gpu ${f('gpu')}, browser ${f('browser')}) · extension host ${f('extension_host')} MiB`;
}

describe('many viewers in VS Code: memory', function () {
  this.timeout(1_800_000);

  it(`opens ${VIEWERS} viewers of the head CT, then closes them`, async function () {
    const files: Record<string, { copy: string }> = {};
    for (let i = 1; i <= VIEWERS; i++) files[`ct-${String(i).padStart(2, '0')}.nii.gz`] = { copy: sample(CT) };
    const s = await Session.open({ name: 'bench-viewers', workspace: makeWorkspace('bench-viewers', files) });
    try {
      await s.waitForCommand('CT Lens: Open Overlay…');
      await s.page.waitForTimeout(3000);
      const rows: string[] = [];
      const idle = memory(s);
      rows.push(line('workbench, no viewer', idle));
      const raw = 256 * 256 * 108 * 2 / MIB;
      for (const [i, name] of Object.keys(files).entries()) {
        await s.openFile(name);
        await waitForAttribute(s.viewer().locator('#ctl-root'), 'data-state', 'ready', 180_000);
        if (i === 0) {
          await s.page.waitForTimeout(2000);
          rows.push(line('1 viewer', memory(s)));
          // The webview's own limit: the largest ArrayBuffer its renderer allocates (powers of two, then a step).
          let limit = 'not measured (no viewer frame found)';
          for (const f of s.page.frames()) {
            if (!(await f.evaluate(() => !!document.getElementById('ctl-root')).catch(() => false))) continue;
            limit = await f.evaluate(() => {
              let ok = 0;
              for (let gib = 0.5; gib <= 64; gib *= 2) {
                try {
                  if (new ArrayBuffer(gib * 2 ** 30).byteLength) ok = gib;
                } catch {
                  break;
                }
              }
              return `${ok} GiB allocated, ${ok * 2} GiB refused`;
            });
            break;
          }
          rows.push(`webview ArrayBuffer: ${limit}`);
        }
      }
      await s.page.waitForTimeout(3000);
      const open = memory(s);
      rows.push(line(`${VIEWERS} viewers open`, open));
      await s.runCommand('View: Close All Editors');
      await s.page.waitForTimeout(10_000);
      const closed = memory(s);
      rows.push(line(`${VIEWERS} viewers closed (10 s)`, closed));
      // V8 gives memory back when it collects, not when a viewer closes: a leak shows as growth over cycles.
      for (let cycle = 2; cycle <= 3; cycle++) {
        for (const name of Object.keys(files)) {
          await s.openFile(name);
          await waitForAttribute(s.viewer().locator('#ctl-root'), 'data-state', 'ready', 180_000);
        }
        await s.runCommand('View: Close All Editors');
        await s.page.waitForTimeout(10_000);
        rows.push(line(`cycle ${cycle}: open ${VIEWERS}, closed`, memory(s)));
      }
      const chromium = (m: Record<string, number>) => (m.browser ?? 0) + (m.renderers ?? 0) + (m.gpu ?? 0) + (m.other ?? 0);
      rows.push(
        `per viewer while open: chromium ${((chromium(open) - chromium(idle)) / VIEWERS).toFixed(0)} MiB, ` +
          `extension host ${((open.extension_host - idle.extension_host) / VIEWERS).toFixed(0)} MiB (raw volume ${raw.toFixed(1)} MiB)`,
      );
      rows.push(
        `given back after close: chromium ${(chromium(open) - chromium(closed)).toFixed(0)} of ${(chromium(open) - chromium(idle)).toFixed(0)} MiB, ` +
          `extension host ${(open.extension_host - closed.extension_host).toFixed(0)} of ${(open.extension_host - idle.extension_host).toFixed(0)} MiB`,
      );
      // Hidden viewers' webviews are discarded (retainContextWhenHidden is off): only visible ones hold a copy of
      // the volume in the webview. So also measure viewers side by side: the editor split until VISIBLE are shown.
      const VISIBLE = 4;
      await s.openFile(Object.keys(files)[0]!);
      await waitForAttribute(s.viewer().locator('#ctl-root'), 'data-state', 'ready', 180_000);
      for (let k = 1; k < VISIBLE; k++) {
        await s.runCommand('View: Split Editor');
        await waitForAttribute(s.webview('editor', k).locator('#ctl-root'), 'data-state', 'ready', 180_000).catch(() =>
          waitForAttribute(s.webview('editor', 0).locator('#ctl-root'), 'data-state', 'ready', 180_000),
        );
      }
      await s.page.waitForTimeout(3000);
      const visible = memory(s);
      rows.push(line(`${VISIBLE} viewers side by side`, visible));
      await s.runCommand('View: Close All Editors');
      await s.page.waitForTimeout(10_000);
      rows.push(line(`${VISIBLE} side by side closed (10 s)`, memory(s)));
      rows.push(`per visible viewer: chromium ${((chromium(visible) - chromium(closed)) / VISIBLE).toFixed(0)} MiB`);
      console.log(`\n${rows.join('\n')}\n`);
    } finally {
      await s.close();
    }
  });

  it('opens one viewer of a 1.4 GiB volume: peak and settled memory', async function () {
    if (!fs.existsSync(BIG)) {
      console.log(`\nskipped: ${path.relative(REPO_ROOT, BIG)} is missing (npm run bench -- big-volume generates it)\n`);
      return;
    }
    const ws = makeWorkspace('bench-big', { [CT]: { copy: sample(CT) } });
    fs.symlinkSync(BIG, path.join(ws, 'big.nii'));
    const s = await Session.open({ name: 'bench-big', workspace: ws });
    try {
      await s.waitForCommand('CT Lens: Open Overlay…');
      await s.page.waitForTimeout(3000);
      const chromium = (m: Record<string, number>) => (m.browser ?? 0) + (m.renderers ?? 0) + (m.gpu ?? 0) + (m.other ?? 0);
      const idle = memory(s);
      const t0 = Date.now();
      await s.openFile('big.nii');
      const root = s.viewer().locator('#ctl-root');
      let peak = { chromium: 0, host: 0 };
      let state: string | null = null;
      while (Date.now() - t0 < 900_000) {
        const m = memory(s);
        peak = { chromium: Math.max(peak.chromium, chromium(m)), host: Math.max(peak.host, m.extension_host) };
        state = await root.getAttribute('data-state', { timeout: 2000 }).catch(() => null);
        if (state === 'ready' || state === 'error') break;
        await s.page.waitForTimeout(500);
      }
      const loadedS = ((Date.now() - t0) / 1000).toFixed(0);
      await s.page.waitForTimeout(3000);
      const open = memory(s);
      await s.runCommand('View: Close All Editors');
      await s.page.waitForTimeout(10_000);
      const closed = memory(s);
      // V8 frees the closed volume at its next collection, which only allocation triggers: open a small one.
      await s.openFile(CT);
      await waitForAttribute(s.viewer().locator('#ctl-root'), 'data-state', 'ready', 180_000);
      await s.runCommand('View: Close All Editors');
      await s.page.waitForTimeout(5000);
      const collected = memory(s);
      const error = state === 'error' ? await s.viewer().locator('#ctl-error').innerText().catch(() => '') : '';
      console.log(
        [
          '',
          `1.4 GiB volume (1024×1024×700 int16): viewer state ${state}${error ? ` (${error})` : ''} after ${loadedS} s`,
          line('  before opening', idle),
          `  peak while loading         chromium ${peak.chromium.toFixed(0).padStart(6)} MiB · extension host ${peak.host.toFixed(0).padStart(6)} MiB`,
          line('  open, settled', open),
          line('  closed (10 s)', closed),
          line('  then a head CT opened and closed', collected),
          '',
        ].join('\n'),
      );
    } finally {
      await s.close();
    }
  });
});
