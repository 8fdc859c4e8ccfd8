// Types for code-server.mjs (plain ESM so that `npm start` runs on bare Node), used by the TypeScript e2e harness.

export const CODE_SERVER_VERSION: string;

export interface CodeServer {
  port: number;
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  /** baseUrl, or the folderUrl of the folder given at start */
  url: string;
  /** The URL that opens `folder` (an absolute path on this machine) as the workspace. */
  folderUrl(folder: string): string;
  pid: number;
  logFile: string;
  /** Ends code-server and every process it started (extension host, model host). */
  stop(): Promise<void>;
  /** The same at once, synchronously (SIGKILL to its process group), for signal handlers. */
  kill(): void;
}

export function codeServerDir(): string;
export function ensureCodeServer(options?: { log?: (msg: string) => void }): Promise<string>;
export function freePort(): Promise<number>;
export const QUIET_SETTINGS: Record<string, unknown>;
export function prepareProfile(o: {
  bin: string;
  root: string;
  vsix: string;
  settings?: Record<string, unknown>;
  log?: (msg: string) => void;
}): { userDataDir: string; extensionsDir: string };
export function codeServerEnv(root: string, extra?: Record<string, string>): NodeJS.ProcessEnv;
export function startCodeServer(o: {
  bin: string;
  root: string;
  userDataDir: string;
  extensionsDir: string;
  port?: number;
  folder?: string;
  env?: Record<string, string>;
  logFile?: string;
  timeoutMs?: number;
}): Promise<CodeServer>;
export function openInConnectedWindow(o: {
  userDataDir: string;
  files: string[];
  signal?: AbortSignal;
  settleMs?: number;
}): Promise<boolean>;
