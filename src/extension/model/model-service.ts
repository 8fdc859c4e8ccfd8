// The extension's one model: a model-host child process (src/modelhost, started lazily on the first request) with
// one package loaded into it. No `vscode` import — the VS Code layer (status bar, Model view, commands) listens to
// `onDidChangeStatus` — so it is tested with the real host process in plain Node.
//
// - Lazy: nothing is spawned until a run (or "Load Model") needs it.
// - One load at a time; a second caller waits for the same load. Asking for another package or provider loads that
//   one (the host releases the old sessions); so does another dtype (ctlens.dtype).
// - Crashes: the client restarts the host and reloads the package itself; listeners get the error to show. When the
//   client gives up (repeated crashes), the next request starts a fresh client — the user's next click is the retry.
// - dispose() stops the host (extension deactivation).

import { ModelError } from '../../core/model/errors';
import { ModelHostClient, type ModelHostClientOptions, type RequestOptions } from '../../modelhost/client';
import type { GenerateParams, GenerateResult, LoadResult } from '../../shared/modelhost-protocol';
import { targetKey, type ModelTarget } from './model-settings';

export type ModelStatus =
  | { state: 'idle' }
  | { state: 'loading'; target: ModelTarget }
  | { state: 'ready'; target: ModelTarget; load: LoadResult }
  | { state: 'failed'; target: ModelTarget; error: string };

export interface ModelServiceOptions {
  /** dist/modelhost.js of the installed extension. */
  modulePath: string;
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
  log(line: string): void;
  /** Creates the client (tests pass options through). */
  clientOptions?: Partial<ModelHostClientOptions>;
}

export class ModelService {
  private client: ModelHostClient | null = null;
  private statusValue: ModelStatus = { state: 'idle' };
  private loading: { key: string; promise: Promise<LoadResult> } | null = null;
  private readonly statusListeners = new Set<(status: ModelStatus) => void>();
  private readonly crashListeners = new Set<(error: ModelError) => void>();
  private disposed = false;

  constructor(private readonly options: ModelServiceOptions) {}

  get status(): ModelStatus {
    return this.statusValue;
  }

  /** The host's process id, or null when none runs (lazy start). */
  get hostPid(): number | null {
    return this.client?.pid ?? null;
  }

  onDidChangeStatus(listener: (status: ModelStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** The host died while it had work; it has been restarted (or, after repeated crashes, will be on the next run). */
  onCrash(listener: (error: ModelError) => void): () => void {
    this.crashListeners.add(listener);
    return () => this.crashListeners.delete(listener);
  }

  private setStatus(status: ModelStatus): void {
    this.statusValue = status;
    for (const l of this.statusListeners) l(status);
  }

  private ensureClient(): ModelHostClient {
    if (this.disposed) throw new ModelError('HostCrashed', 'CT Lens is shutting down');
    if (this.client) return this.client;
    const client = new ModelHostClient({
      modulePath: this.options.modulePath,
      execArgv: this.options.execArgv,
      env: this.options.env,
      log: (line) => this.options.log(line),
      ...this.options.clientOptions,
    });
    client.onCrash((error) => {
      // After repeated crashes the client stops restarting and refuses work: drop it, so the next request (the user
      // trying again) starts a fresh host.
      if (/not restarted/.test(error.message) && this.client === client) {
        this.client = null;
        this.loading = null;
        this.setStatus({ state: 'idle' });
      }
      for (const l of this.crashListeners) l(error);
    });
    this.client = client;
    return client;
  }

  /** Loads the target's package (or reuses the loaded one). Concurrent callers share one load. */
  ensureLoaded(target: ModelTarget): Promise<LoadResult> {
    const key = targetKey(target);
    const status = this.statusValue;
    if (status.state === 'ready' && targetKey(status.target) === key) return Promise.resolve(status.load);
    if (this.loading?.key === key) return this.loading.promise;
    const client = this.ensureClient();
    this.setStatus({ state: 'loading', target });
    const promise = client.load({ packageDir: target.packageDir, executionProvider: target.executionProvider, dtype: target.dtype }).then(
      (load) => {
        if (this.loading?.promise === promise) {
          this.loading = null;
          this.setStatus({ state: 'ready', target, load });
        }
        return load;
      },
      (error: unknown) => {
        if (this.loading?.promise === promise) {
          this.loading = null;
          this.setStatus({ state: 'failed', target, error: error instanceof Error ? error.message : String(error) });
        }
        throw error;
      },
    );
    this.loading = { key, promise };
    return promise;
  }

  /** Runs one report or question on the loaded model (call ensureLoaded first). */
  generate(params: GenerateParams, options: RequestOptions = {}): Promise<GenerateResult> {
    return this.ensureClient().generate(params, options);
  }

  /** Stops the host (its sessions go with it); the next request starts a new one. */
  async unload(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.loading = null;
    if (!this.disposed) this.setStatus({ state: 'idle' });
    await client?.dispose();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const client = this.client;
    this.client = null;
    this.statusListeners.clear();
    this.crashListeners.clear();
    await client?.dispose();
  }
}
