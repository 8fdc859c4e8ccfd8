// The fresh-machine logic of `npm start` / `npm test` (scripts/lib/system-deps.mjs): which action it picks for the
// machine it finds — nothing to do, install with apt-get (root or passwordless sudo), or stop with the one command
// to run. Machines are described, never probed, and apt is never run.
import { strict as assert } from 'node:assert';
import {
  CODE_SERVER_BUILD_TOOLS,
  ensureSystemPackages,
  planSystemPackages,
} from '../../scripts/lib/system-deps.mjs';

const has = (...cmds: string[]) => (c: string) => cmds.includes(c);
const ALL = Object.keys(CODE_SERVER_BUILD_TOOLS);
const fresh = { onPath: has('python3', 'cc', 'make', 'g++'), hasApt: true, isRoot: false, sudoOk: false };

describe('fresh-machine set-up (system-deps)', () => {
  it('does nothing when every command is there, even without apt or root', () => {
    const plan = planSystemPackages(CODE_SERVER_BUILD_TOOLS, { ...fresh, onPath: has(...ALL), hasApt: false });
    assert.deepEqual(plan, { action: 'installed' });
    // ensureSystemPackages returns without running anything.
    assert.deepEqual(ensureSystemPackages(CODE_SERVER_BUILD_TOOLS, { why: 'x', machine: { ...fresh, onPath: has(...ALL) } }), {
      action: 'installed',
    });
  });

  it('installs the missing packages, once each, as root', () => {
    const plan = planSystemPackages(CODE_SERVER_BUILD_TOOLS, { ...fresh, isRoot: true });
    assert.deepEqual(plan, { action: 'install', missing: ['rg', 'krb5-config', 'pkg-config'], packages: ['ripgrep', 'libkrb5-dev', 'pkg-config'], sudo: false });
    const noCompiler = planSystemPackages(CODE_SERVER_BUILD_TOOLS, { ...fresh, onPath: has('rg'), isRoot: true });
    assert.equal(noCompiler.action, 'install');
    assert.deepEqual(noCompiler.action === 'install' && noCompiler.packages, ['build-essential', 'python3', 'libkrb5-dev', 'pkg-config']);
  });

  it('installs with sudo when sudo needs no password', () => {
    const plan = planSystemPackages(CODE_SERVER_BUILD_TOOLS, { ...fresh, sudoOk: true });
    assert.equal(plan.action, 'install');
    assert.equal(plan.action === 'install' && plan.sudo, true);
  });

  it('tells the exact one command when it cannot install', () => {
    const plan = planSystemPackages(CODE_SERVER_BUILD_TOOLS, fresh);
    assert.deepEqual(plan, {
      action: 'tell',
      missing: ['rg', 'krb5-config', 'pkg-config'],
      packages: ['ripgrep', 'libkrb5-dev', 'pkg-config'],
      command: 'sudo apt-get install -y ripgrep libkrb5-dev pkg-config',
    });
    assert.throws(
      () => ensureSystemPackages(CODE_SERVER_BUILD_TOOLS, { why: 'code-server builds native modules', machine: fresh }),
      /code-server builds native modules: missing rg, krb5-config, pkg-config\. Run once: sudo apt-get install -y ripgrep libkrb5-dev pkg-config$/,
    );
  });

  it('without apt-get, names the packages for another package manager', () => {
    const plan = planSystemPackages({ rg: 'ripgrep' }, { ...fresh, hasApt: false, isRoot: true });
    assert.equal(plan.action, 'tell');
    assert.match(plan.action === 'tell' ? plan.command : '', /install ripgrep .*package manager/);
  });
});
