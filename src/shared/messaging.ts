// A small, transport-agnostic message handler for one side of a postMessage boundary (extension host ↔ webview).
// Every message travels in an envelope with an id; a request expects an envelope back whose `replyTo` names it,
// an event expects nothing. Replies resolve the pending request's promise; a thrown handler error travels back as
// `error` and rejects it. ArrayBuffers listed in `transfer` are handed to the transport (the webview's
// postMessage moves them instead of copying).
//
// Same idea as vscode-hexeditor's shared/protocol.ts MessageHandler: the two sides share one typed union per
// direction, and the handler is tested without VS Code (test/shared/messaging.test.ts).

export interface Envelope<T> {
  /** Unique per sender. */
  id: number;
  /** Set on replies: the id of the request answered. */
  replyTo?: number;
  /** Set on failed replies instead of a body. */
  error?: string;
  /** Set on requests so the receiver knows a reply is awaited. */
  expectsReply?: boolean;
  body?: T;
}

/** Posts one envelope; may return when the other side has it (VS Code's `postMessage` thenable). */
export type PostFn<T> = (envelope: Envelope<T>, transfer: ArrayBuffer[]) => unknown;

/**
 * Handles requests and events from the other side. Returns the reply body for requests (ignored for events) plus
 * optional buffers to transfer with it.
 */
export type RequestHandler<TIn, TOut> = (
  message: TIn,
) => Promise<Reply<TOut> | TOut | undefined> | Reply<TOut> | TOut | undefined;

/** A reply body with buffers to transfer alongside it. */
export interface Reply<T> {
  readonly reply: T;
  readonly transfer: ArrayBuffer[];
}

export function withTransfer<T>(reply: T, transfer: ArrayBuffer[]): Reply<T> {
  return { reply, transfer };
}

function isReply<T>(value: unknown): value is Reply<T> {
  return typeof value === 'object' && value !== null && 'reply' in value && 'transfer' in value;
}

/** Error raised on the requesting side when the other side's handler failed or the channel closed. */
export class MessagingError extends Error {
  override name = 'MessagingError';
}

/**
 * Checks a received body before anything uses it (the extension host's side: src/shared/webview-input.ts). A
 * refused request is answered with an error, a refused event dropped, a refused reply rejects its request.
 */
export interface ReceiveGuard<TIn> {
  validate(body: unknown): { ok: true; message: TIn } | { ok: false; type: string; why: string };
  onRefused?(type: string, why: string): void;
}

interface Pending<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/**
 * One side of the channel. `TOut`: the union this side sends; `TIn`: the union it receives. Call `receive` with
 * every envelope the transport delivers.
 */
export class MessageHandler<TOut, TIn> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending<TIn>>();
  private closed = false;

  constructor(
    private readonly post: PostFn<TOut>,
    private readonly handle: RequestHandler<TIn, TOut>,
    private readonly onHandlerError: (error: unknown, message: TIn) => void = () => {},
    private readonly guard?: ReceiveGuard<TIn>,
  ) {}

  /** Sends a message that expects a reply; resolves with the reply body. */
  request<R extends TIn = TIn>(message: TOut, transfer: ArrayBuffer[] = []): Promise<R> {
    if (this.closed) return Promise.reject(new MessagingError('channel closed'));
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: TIn) => void, reject });
      try {
        this.post({ id, expectsReply: true, body: message }, transfer);
      } catch (error) {
        this.pending.delete(id);
        reject(error instanceof Error ? error : new MessagingError(String(error)));
      }
    });
  }

  /** Sends a message that expects no reply. */
  event(message: TOut, transfer: ArrayBuffer[] = []): void {
    if (this.closed) return;
    this.post({ id: this.nextId++, body: message }, transfer);
  }

  /**
   * Sends a message that expects no reply; resolves when the transport says it was delivered (at once for a
   * transport that does not say). For backpressure: the next big message waits for this one.
   */
  async eventDelivered(message: TOut, transfer: ArrayBuffer[] = []): Promise<void> {
    if (this.closed) return;
    await this.post({ id: this.nextId++, body: message }, transfer);
  }

  /** Number of requests still waiting for a reply. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Feeds one envelope from the transport. Unknown replies and malformed envelopes are ignored; with a guard, bodies
   * it refuses never reach the handler. Never rejects: a failure to post the answer (the other side is gone) is
   * reported to onHandlerError like a handler failure.
   */
  async receive(raw: unknown): Promise<void> {
    if (this.closed || typeof raw !== 'object' || raw === null) return;
    const envelope = raw as Envelope<TIn>;
    if (typeof envelope.id !== 'number') return;

    if (typeof envelope.replyTo === 'number') {
      const waiting = this.pending.get(envelope.replyTo);
      if (!waiting) return;
      this.pending.delete(envelope.replyTo);
      if (envelope.error !== undefined) {
        waiting.reject(new MessagingError(typeof envelope.error === 'string' ? envelope.error.slice(0, 2000) : 'the other side failed'));
        return;
      }
      const checked = this.checked(envelope.body);
      if (checked.ok) waiting.resolve(checked.message);
      else waiting.reject(new MessagingError(`refused reply: ${checked.why}`));
      return;
    }

    const checked = this.checked(envelope.body);
    if (!checked.ok) {
      if (envelope.expectsReply) this.safePost({ id: this.nextId++, replyTo: envelope.id, error: `refused: ${checked.why}` }, [], envelope.body);
      return;
    }
    const message = checked.message;
    let result: Reply<TOut> | TOut | undefined;
    try {
      result = await this.handle(message);
    } catch (error) {
      this.onHandlerError(error, message);
      if (envelope.expectsReply) this.safePost({ id: this.nextId++, replyTo: envelope.id, error: errorText(error) }, [], message);
      return;
    }
    if (!envelope.expectsReply || this.closed) return;
    if (isReply<TOut>(result)) {
      this.safePost({ id: this.nextId++, replyTo: envelope.id, body: result.reply }, result.transfer, message);
    } else {
      this.safePost({ id: this.nextId++, replyTo: envelope.id, body: result as TOut }, [], message);
    }
  }

  private checked(body: unknown): { ok: true; message: TIn } | { ok: false; type: string; why: string } {
    if (!this.guard) return { ok: true, message: body as TIn };
    let c: ReturnType<ReceiveGuard<TIn>['validate']>;
    try {
      c = this.guard.validate(body);
    } catch (error) {
      c = { ok: false, type: '(unknown type)', why: `unreadable (${errorText(error)})` };
    }
    if (!c.ok) this.guard.onRefused?.(c.type, c.why);
    return c;
  }

  private safePost(envelope: Envelope<TOut>, transfer: ArrayBuffer[], about: unknown): void {
    try {
      this.post(envelope, transfer);
    } catch (error) {
      try {
        this.onHandlerError(error, about as TIn);
      } catch {
        // A logger that fails on what it was given has nowhere else to report to.
      }
    }
  }

  /** Rejects every pending request and ignores further traffic (the webview was disposed). */
  close(reason = 'channel closed'): void {
    if (this.closed) return;
    this.closed = true;
    for (const waiting of this.pending.values()) waiting.reject(new MessagingError(reason));
    this.pending.clear();
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
