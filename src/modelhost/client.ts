// Client of the model host child process, free of `vscode` so the extension, the CLI and tests share it.
//
// - Spawns src/modelhost/main.ts (bundled: dist/modelhost.js) with child_process.fork and
//   `serialization: 'advanced'`, so typed arrays (the pixel tensor, routing probabilities) cross as binary.
// - Queues requests and sends the next only when the previous one has answered: the host then only ever runs one,
//   and a host crash fails only the request that was running — the queued ones run on the restarted host.
// - A crash (the process exits or is killed while busy) rejects the running request with HostCrashed, starts a
//   fresh host and loads the last loaded model into it again before the next request. Repeated crashes within a
//   short window stop the restarts, with an error saying so.
// - A provider switch away from a GPU provider (the setting changed while running: webgpu → cpu) starts a fresh
//   host for the new load: onnxruntime keeps its WebGPU (Dawn) device — and CUDA its context — for the life of
//   the process after the sessions are released. Measured (test/modelhost/provider-switch.test.ts, SwiftShader):
//   RSS cpu 190 MB → webgpu 654 MB → cpu 280 MB in one process; a fresh host is back at the first figure.
// - Cancellation: an AbortSignal per request; a queued request is dropped at once, a running one is cancelled in
//   the host (generation stops within one decoding step) and rejects with Aborted. A host that has not answered
//   `cancelGraceMs` after the cancel is stuck outside the decoding loop (a native call, a pathological regex) and
//   is killed and restarted, the request still rejecting with Aborted: a cancel always ends the run.
//
// From the extension host (the volume is already decoded there; only the small tensor crosses):
//
//   const pkg = await readModelPackage(dir);                        // core/model/package: JSON only, no onnxruntime
//   const input = preprocessVolume(volume, pkg.spec.preprocess);    // core/model/preprocess: [1,3,D,H,W] + geometry
//   const host = new ModelHostClient({ modulePath: context.asAbsolutePath('dist/modelhost.js'), log: (l) => out.info(l) });
//   await host.load({ packageDir: dir, executionProvider: setting });          // once; reused afterwards
//   const r = await host.generate(
//     { task: 'report', pixelValues: input.pixelValues, geometry: input.geometry, stats: input.stats },
//     { signal, onEvent: (e) => e.type === 'token' && panel.append(e.text) });
//   r.notices → show beside r.text; expertOverlay(r.routing, layer, group, expert) → viewer overlay (C2).

import { fork, type ChildProcess } from 'node:child_process';
import type {
  ExecutionProviderName,
  GenerateEvent,
  GenerateParams,
  GenerateResult,
  HostMethod,
  HostMethods,
  HostToParent,
  LoadParams,
  LoadResult,
  ModelInfo,
  ParentToHost,
} from '../shared/modelhost-protocol';
import { isHostToParent } from '../shared/modelhost-protocol';
import { ModelError } from '../core/model/errors';

export interface ModelHostClientOptions {
  /** The host entry: dist/modelhost.js, or src/modelhost/main.ts with execArgv ['--import', 'tsx']. */
  modulePath: string;
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
  /** Lines the host writes on stdout/stderr (onnxruntime warnings, …) and client lifecycle notes. */
  log?: (line: string) => void;
  /** Crashes tolerated within `crashWindowMs` before restarts stop (default 3 in 60 s). */
  maxCrashes?: number;
  crashWindowMs?: number;
  /** How long a starting host may take to say it is ready (default 20 s). */
  startTimeoutMs?: number;
  /** How long a running request may take to stop after its cancel before the host is killed (default 5 s). */
  cancelGraceMs?: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
  onEvent?: (event: GenerateEvent) => void;
}

type Pending = {
  id: number;
  /** The request has been posted to the host (a cancel must then go to the host too). */
  sent?: boolean;
  method: HostMethod;
  params: unknown;
  options: RequestOptions;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onAbort?: () => void;
  /** Armed by a cancel sent to the host: kills a host that does not stop in time. */
  cancelTimer?: ReturnType<typeof setTimeout>;
};

export type HostState = 'idle' | 'starting' | 'ready' | 'stopped';

export class ModelHostClient {
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private readonly queue: Pending[] = [];
  private running: Pending | null = null;
  /** The remembered load being replayed into a restarted host (outside the queue). */
  private replaying: Pending | null = null;
  private nextId = 1;
  private lastLoad: LoadParams | null = null;
  /** The provider the host last loaded sessions on (from its reply) and the choice that got it; kept across an
   * unload, since the device outlives the sessions. */
  private hostProvider: ExecutionProviderName | null = null;
  private hostChoice: LoadParams['executionProvider'] | null = null;
  private crashTimes: number[] = [];
  /** The host killed because it did not stop after a cancel (its exit is not a crash). */
  private killedForCancel: ChildProcess | null = null;
  private disposed = false;
  private readonly crashListeners = new Set<(error: ModelError) => void>();

  constructor(private readonly options: ModelHostClientOptions) {}

  /** Loads (or reuses) a package in the host. Remembered, and replayed into a restarted host. */
  async load(params: LoadParams, options: RequestOptions = {}): Promise<LoadResult> {
    const result = await this.request('load', params, options);
    this.lastLoad = params;
    this.hostProvider = result.provider.used;
    this.hostChoice = params.executionProvider;
    return result;
  }

  generate(params: GenerateParams, options: RequestOptions = {}): Promise<GenerateResult> {
    return this.request('generate', params, options);
  }

  ping(): Promise<{ pid: number; loaded: ModelInfo | null }> {
    return this.request('ping', {}, {});
  }

  async unload(): Promise<void> {
    this.lastLoad = null;
    await this.request('unload', {}, {});
  }

  /** The host's process id, or null when none runs. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Called with the error each time the host dies while it had work (the client restarts it itself). */
  onCrash(listener: (error: ModelError) => void): () => void {
    this.crashListeners.add(listener);
    return () => this.crashListeners.delete(listener);
  }

  /** Stops the host and rejects whatever is still queued. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const err = new ModelError('HostCrashed', 'the model host was shut down');
    for (const p of this.queue.splice(0)) this.settle(p, err);
    if (this.running) this.settle(this.running, err);
    this.running = null;
    const child = this.child;
    this.child = null;
    this.ready = null;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.disconnect?.();
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    }
  }

  private request<M extends HostMethod>(
    method: M,
    params: HostMethods[M]['params'],
    options: RequestOptions,
  ): Promise<HostMethods[M]['result']> {
    if (this.disposed) return Promise.reject(new ModelError('HostCrashed', 'the model host client was disposed'));
    if (options.signal?.aborted) return Promise.reject(new ModelError('Aborted', 'cancelled before it was sent'));
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        id: this.nextId++,
        method,
        params,
        options,
        resolve: resolve as (v: unknown) => void,
        reject,
      };
      if (options.signal) {
        pending.onAbort = () => this.abort(pending);
        options.signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      this.queue.push(pending);
      void this.pump();
    });
  }

  private abort(p: Pending): void {
    const at = this.queue.indexOf(p);
    if (at >= 0) {
      this.queue.splice(at, 1);
      this.settle(p, new ModelError('Aborted', 'cancelled while queued'));
    } else if (this.running === p && p.sent && this.child?.connected) {
      this.post({ type: 'cancel', id: p.id });
      const child = this.child;
      const graceMs = this.cancelGraceMs;
      p.cancelTimer = setTimeout(() => {
        if (this.running !== p || this.child !== child) return;
        this.options.log?.(`the model host did not stop within ${graceMs} ms of a cancel; restarting it`);
        this.killedForCancel = child;
        child.kill('SIGKILL');
      }, graceMs);
    }
    // Running but not yet sent (the host is starting): pump() sees the aborted signal and does not send it.
  }

  private async pump(): Promise<void> {
    if (this.running || this.disposed) return;
    const next = this.queue.shift();
    if (!next) return;
    this.running = next;
    try {
      if (next.method === 'load' && this.leavesGpuProvider(next.params as LoadParams)) {
        this.options.log?.(
          `switching from ${this.hostProvider} to ${(next.params as LoadParams).executionProvider}: starting a fresh model host (onnxruntime frees a GPU device only with its process)`,
        );
        await this.stopHost();
      }
      await this.ensureHost();
      if (this.running !== next) return; // settled meanwhile (the host died while starting, disposed)
      if (next.options.signal?.aborted) throw new ModelError('Aborted', 'cancelled before it was sent');
      if (!this.child?.connected) throw new ModelError('HostCrashed', 'the model host is not running');
      next.sent = true;
      this.post({ type: 'request', id: next.id, method: next.method, params: next.params } as ParentToHost);
    } catch (e) {
      if (this.running === next) {
        this.running = null;
        this.settle(next, e instanceof Error ? e : new Error(String(e)));
        void this.pump();
      }
    }
  }

  /** A load that asks for another provider while the host's sessions run on a GPU provider. */
  private leavesGpuProvider(params: LoadParams): boolean {
    if (!this.child || this.hostProvider === null || this.hostProvider === 'cpu') return false;
    return params.executionProvider !== this.hostChoice;
  }

  /** Ends the host on purpose (not a crash: onExit ignores a child that is no longer ours); nothing is replayed. */
  private async stopHost(): Promise<void> {
    const child = this.child;
    this.child = null;
    this.ready = null;
    this.lastLoad = null;
    this.hostProvider = null;
    this.hostChoice = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.disconnect?.();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  private post(message: ParentToHost): void {
    this.child?.send(message);
  }

  private settle(p: Pending, error: Error | null, value?: unknown): void {
    if (p.cancelTimer) clearTimeout(p.cancelTimer);
    if (p.onAbort) p.options.signal?.removeEventListener('abort', p.onAbort);
    if (error) p.reject(error);
    else p.resolve(value);
  }

  /** Starts a host if none runs, waits for it to be ready and replays the last load into it. */
  private ensureHost(): Promise<void> {
    if (this.ready) return this.ready;
    const ready: Promise<void> = this.start().catch((e) => {
      if (this.ready === ready) this.ready = null; // a restart may already have replaced it
      throw e;
    });
    this.ready = ready;
    return ready;
  }

  private async start(): Promise<void> {
    const { modulePath, execArgv = [], env = process.env, startTimeoutMs = 20000 } = this.options;
    const child = fork(modulePath, [], {
      execArgv,
      env,
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child = child;
    const log = this.options.log;
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) log?.(`[model host] ${line}`);
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    child.on('message', (m) => this.onMessage(child, m));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    child.on('error', (e) => log?.(`[model host] process error: ${e.message}`));

    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        child.kill('SIGKILL');
        reject(new ModelError('HostCrashed', `the model host did not start within ${startTimeoutMs} ms`));
      }, startTimeoutMs);
      const onReady = (m: unknown) => {
        if (isHostToParent(m) && m.type === 'ready') {
          cleanup();
          resolve();
        }
      };
      const onEarlyExit = (code: number | null, signal: string | null) => {
        cleanup();
        reject(new ModelError('HostCrashed', `the model host exited while starting (${signal ?? `exit code ${code}`})`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        child.off('message', onReady);
        child.off('exit', onEarlyExit);
      };
      child.on('message', onReady);
      child.once('exit', onEarlyExit);
    });
    log?.(`model host ready (pid ${child.pid})`);
    if (this.lastLoad) {
      // The host runs either way; a package that no longer loads (deleted, replaced) is forgotten, and the next
      // request gets the host's own NotLoaded error rather than an endless restart loop.
      const params = this.lastLoad;
      try {
        await this.replayLoad(params);
      } catch (e) {
        // A host that died while loading is the crash handler's business (it restarts, within the crash limit).
        if (e instanceof ModelError && e.code === 'HostCrashed') throw e;
        this.lastLoad = null;
        log?.(`reloading ${params.packageDir} into the new model host failed: ${e instanceof Error ? e.message : e}`);
      }
    }
    if (this.child !== child) throw new ModelError('HostCrashed', 'the model host exited while starting');
  }

  /** Re-loads the remembered package into a fresh host, outside the queue (it must precede queued work). */
  private replayLoad(params: LoadParams): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const p: Pending = {
        id,
        method: 'load',
        params,
        options: {},
        resolve: () => resolve(),
        reject,
      };
      this.replaying = p;
      this.post({ type: 'request', id, method: 'load', params });
    });
  }

  private onMessage(child: ChildProcess, m: unknown): void {
    if (child !== this.child || !isHostToParent(m)) return;
    const msg: HostToParent = m;
    if (msg.type === 'ready') return;
    if (this.replaying && msg.id === this.replaying.id) {
      if (msg.type !== 'result') return;
      const p = this.replaying;
      this.replaying = null;
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new ModelError(msg.error.code, msg.error.message.replace(/^\w+: /, '')));
      return;
    }
    const p = this.running;
    if (!p || msg.id !== p.id) return;
    if (msg.type === 'event') {
      // Tokens the host produced before our cancel reached it are still in the pipe; a caller that aborted has
      // said it wants no more, so they are dropped here (the host itself stops within one step of the cancel).
      if (!p.options.signal?.aborted) p.options.onEvent?.(msg.event);
      return;
    }
    this.running = null;
    if (msg.ok) this.settle(p, null, msg.result);
    else this.settle(p, new ModelError(msg.error.code, msg.error.message.replace(/^\w+: /, '')));
    void this.pump();
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = null;
    this.ready = null;
    if (this.disposed) return;
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    const victim = this.running ?? this.replaying;
    this.options.log?.(`model host exited (${how})${victim ? ` while running ${victim.method}` : ''}`);
    if (!victim && code === 0) return; // a clean exit while idle: start again on the next request
    if (this.killedForCancel === child) {
      // Killed by us after a cancel it did not honour: the caller asked to stop, not a crash of the model.
      this.killedForCancel = null;
      if (this.running) {
        const p = this.running;
        this.running = null;
        this.settle(p, new ModelError('Aborted', `cancelled; the model host did not stop within ${this.cancelGraceMs} ms, so it was restarted`));
      }
      this.restartNow();
      return;
    }
    const now = Date.now();
    const windowMs = this.options.crashWindowMs ?? 60000;
    this.crashTimes = this.crashTimes.filter((t) => now - t < windowMs);
    this.crashTimes.push(now);
    const giveUp = this.crashTimes.length > (this.options.maxCrashes ?? 3);
    const error = new ModelError(
      'HostCrashed',
      `the model host process died (${how})${victim ? ` while running ${victim.method}` : ''}; ` +
        (giveUp
          ? `it crashed ${this.crashTimes.length} times within ${Math.round(windowMs / 1000)} s, so it is not restarted`
          : 'a new host has been started'),
    );
    for (const l of this.crashListeners) l(error);
    if (this.replaying) {
      const r = this.replaying;
      this.replaying = null;
      r.reject(error);
    }
    if (this.running) {
      const p = this.running;
      this.running = null;
      this.settle(p, error);
    }
    if (giveUp) {
      this.disposed = true;
      for (const p of this.queue.splice(0)) this.settle(p, error);
      return;
    }
    this.restartNow();
  }

  private get cancelGraceMs(): number {
    return this.options.cancelGraceMs ?? 5000;
  }

  /** Starts a host now (not lazily), so the model is loaded again before the user asks for the next report. */
  private restartNow(): void {
    void this.ensureHost()
      .catch((e) => this.options.log?.(`model host restart failed: ${e instanceof Error ? e.message : e}`))
      .finally(() => void this.pump());
  }
}
