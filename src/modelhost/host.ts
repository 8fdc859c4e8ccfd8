// The model host's request loop, independent of the process it runs in (src/modelhost/main.ts wires it to
// process.send / process.on('message')), so it can be tested in-process with a fake backend.
//
// Requests run one at a time in arrival order: two reports asked for at once are queued, never interleaved (the
// sessions are not re-entrant in a useful way, and interleaving would only make both slower). A cancel message
// removes a queued request or aborts the running one through its AbortSignal.

import type {
  ErrorValue,
  GenerateEvent,
  GenerateParams,
  GenerateResult,
  HostRequest,
  HostToParent,
  LoadParams,
  LoadResult,
  ModelInfo,
  ParentToHost,
} from '../shared/modelhost-protocol';
import { isParentToHost } from '../shared/modelhost-protocol';
import { ModelError, describeError } from '../core/model/errors';

/** What the host needs from the model runtime. */
export interface HostBackend {
  load(params: LoadParams, signal: AbortSignal): Promise<LoadResult>;
  generate(params: GenerateParams, emit: (event: GenerateEvent) => void, signal: AbortSignal): Promise<GenerateResult>;
  unload(): Promise<boolean>;
  loaded(): ModelInfo | null;
}

export function toErrorValue(e: unknown): ErrorValue {
  if (e instanceof ModelError) return { code: e.code, message: e.message };
  return { code: 'SessionFailed', message: `SessionFailed: ${describeError(e)}` };
}

export class ModelHost {
  private readonly queue: { request: HostRequest; controller: AbortController }[] = [];
  private running: { request: HostRequest; controller: AbortController } | null = null;

  constructor(
    private readonly backend: HostBackend,
    private readonly send: (message: HostToParent) => void,
    private readonly pid = process.pid,
    /** Where an unexpected error's stack goes: the host's stderr, which the client forwards to the output channel
     * (the user sees one line; the log keeps the stack — issue 14). */
    private readonly logStack: (text: string) => void = (text) => process.stderr.write(text),
  ) {}

  /** Feeds one incoming message; anything that is not a protocol message is ignored. */
  receive(message: unknown): void {
    if (!isParentToHost(message)) return;
    const m: ParentToHost = message;
    if (m.type === 'cancel') {
      this.cancel(m.id);
      return;
    }
    this.queue.push({ request: m, controller: new AbortController() });
    void this.pump();
  }

  private cancel(id: number): void {
    if (this.running?.request.id === id) {
      this.running.controller.abort(new Error('cancelled by the caller'));
      return;
    }
    const at = this.queue.findIndex((q) => q.request.id === id);
    if (at >= 0) {
      const [q] = this.queue.splice(at, 1);
      this.reply(q!.request, { code: 'Aborted', message: 'Aborted: cancelled by the caller before it started' });
    }
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    const next = this.queue.shift();
    if (!next) return;
    this.running = next;
    try {
      const result = await this.dispatch(next.request, next.controller.signal);
      this.reply(next.request, null, result);
    } catch (e) {
      if (!(e instanceof ModelError)) this.logStack(`internal error in ${next.request.method}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      this.reply(next.request, toErrorValue(e));
    } finally {
      this.running = null;
      void this.pump();
    }
  }

  private dispatch(r: HostRequest, signal: AbortSignal): Promise<unknown> {
    switch (r.method) {
      case 'load':
        return this.backend.load(r.params, signal);
      case 'generate':
        return this.backend.generate(r.params, (event) => this.send({ type: 'event', id: r.id, event }), signal);
      case 'unload':
        return this.backend.unload().then((unloaded) => ({ unloaded }));
      case 'ping':
        return Promise.resolve({ pid: this.pid, loaded: this.backend.loaded() });
    }
  }

  private reply(r: HostRequest, error: ErrorValue | null, result?: unknown): void {
    // The union of replies is keyed by method; the casts only restate what dispatch() returned for that method.
    if (error) this.send({ type: 'result', id: r.id, ok: false, method: r.method, error } as HostToParent);
    else this.send({ type: 'result', id: r.id, ok: true, method: r.method, result } as HostToParent);
  }
}

export type { LoadResult };
