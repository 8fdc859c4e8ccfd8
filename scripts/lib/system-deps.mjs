// The machine's own (apt) packages that `npm start` and `npm test` need, installed by themselves where they can.
// planSystemPackages decides, from what is on the machine, one of three actions — it never runs anything itself:
//   installed: every command is on PATH, nothing to do;
//   install:   apt-get can install the missing packages here (as root, or with passwordless sudo);
//   tell:      it cannot: the error names the exact one command to run.
// ensureSystemPackages probes the machine, prints one line saying what is installed and why, and runs
// scripts/apt-install.sh (which waits for a dpkg lock held by unattended upgrades on a fresh cloud machine).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const APT_INSTALL = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'apt-install.sh');

/** Commands code-server 4.100.3 needs to build its native modules on first use → the Debian package with each. */
export const CODE_SERVER_BUILD_TOOLS = Object.freeze({
  rg: 'ripgrep',
  make: 'build-essential',
  cc: 'build-essential',
  'g++': 'build-essential',
  python3: 'python3',
  'krb5-config': 'libkrb5-dev',
  'pkg-config': 'pkg-config',
});

/**
 * @typedef {{ onPath: (cmd: string) => boolean, hasApt: boolean, isRoot: boolean, sudoOk: boolean }} Machine
 * @typedef {{ action: 'installed' }
 *   | { action: 'install', missing: string[], packages: string[], sudo: boolean }
 *   | { action: 'tell', missing: string[], packages: string[], command: string }} Plan
 */

/**
 * @param {Record<string, string>} needs command → Debian package that provides it
 * @param {Machine} machine
 * @returns {Plan}
 */
export function planSystemPackages(needs, machine) {
  const missing = Object.keys(needs).filter((c) => !machine.onPath(c));
  if (missing.length === 0) return { action: 'installed' };
  const packages = [...new Set(missing.map((c) => needs[c]))];
  if (!machine.hasApt) {
    return { action: 'tell', missing, packages, command: `install ${packages.join(' ')} (Debian names) with your package manager` };
  }
  if (machine.isRoot || machine.sudoOk) return { action: 'install', missing, packages, sudo: !machine.isRoot };
  return { action: 'tell', missing, packages, command: `sudo apt-get install -y ${packages.join(' ')}` };
}

/** @returns {Machine} what this machine has (runs `command -v` and `sudo -n true`, never apt). */
export function probeMachine() {
  const sh = (/** @type {string} */ script) => spawnSync('sh', ['-c', script], { stdio: 'ignore' }).status === 0;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return {
    onPath: (cmd) => sh(`command -v '${cmd.replace(/'/g, '')}'`),
    hasApt: sh('command -v apt-get && command -v dpkg-query'),
    isRoot,
    sudoOk: !isRoot && sh('command -v sudo && sudo -n true'),
  };
}

/**
 * Makes sure the commands in `needs` are on PATH, installing their packages with apt-get where it can.
 * @param {Record<string, string>} needs command → Debian package
 * @param {{ why: string, log?: (msg: string) => void, machine?: Machine }} options
 */
export function ensureSystemPackages(needs, options) {
  const log = options.log ?? ((m) => process.stderr.write(`[ctlens] ${m}\n`));
  const machine = options.machine ?? probeMachine();
  const plan = planSystemPackages(needs, machine);
  if (plan.action === 'installed') return plan;
  if (plan.action === 'tell') {
    throw new Error(`${options.why}: missing ${plan.missing.join(', ')}. Run once: ${plan.command}`);
  }
  log(`${options.why}: installing ${plan.packages.join(' ')} with apt-get${plan.sudo ? ' (sudo)' : ''} (missing ${plan.missing.join(', ')})`);
  const r = spawnSync('bash', [APT_INSTALL, ...plan.packages], { stdio: ['ignore', 'inherit', 'inherit'] });
  const still = Object.keys(needs).filter((c) => !machine.onPath(c));
  if (r.status !== 0 || still.length > 0) {
    throw new Error(
      `${options.why}: apt-get could not install ${plan.packages.join(' ')}` +
        (still.length ? ` (still missing ${still.join(', ')})` : '') +
        `. Run once: sudo apt-get install -y ${plan.packages.join(' ')}`,
    );
  }
  return plan;
}
