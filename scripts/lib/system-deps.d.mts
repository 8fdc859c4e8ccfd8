// Types for system-deps.mjs (plain ESM so that `npm start` runs on bare Node), used by its unit test.

export const CODE_SERVER_BUILD_TOOLS: Readonly<Record<string, string>>;

export interface Machine {
  onPath(cmd: string): boolean;
  hasApt: boolean;
  isRoot: boolean;
  sudoOk: boolean;
}

export type Plan =
  | { action: 'installed' }
  | { action: 'install'; missing: string[]; packages: string[]; sudo: boolean }
  | { action: 'tell'; missing: string[]; packages: string[]; command: string };

export function planSystemPackages(needs: Readonly<Record<string, string>>, machine: Machine): Plan;
export function probeMachine(): Machine;
export function ensureSystemPackages(
  needs: Readonly<Record<string, string>>,
  options: { why: string; log?: (msg: string) => void; machine?: Machine },
): Plan;
