import assert from 'node:assert/strict';
import { Envelope, MessageHandler, MessagingError, withTransfer } from '../../src/shared/messaging';

type AtoB = { type: 'ping'; n: number } | { type: 'boom' } | { type: 'note' } | { type: 'pong'; n: number };
type BtoA = { type: 'pong'; n: number } | { type: 'bytes'; data: ArrayBuffer } | { type: 'ask' };

/** Two handlers wired back to back through structuredClone with the transfer list, as postMessage does. */
function pair(handleB: (m: AtoB) => unknown, handleA: (m: BtoA) => unknown = () => undefined) {
  const log: { from: 'a' | 'b'; envelope: Envelope<unknown>; transfer: ArrayBuffer[] }[] = [];
  let a!: MessageHandler<AtoB, BtoA>;
  let b!: MessageHandler<BtoA, AtoB>;
  const deliver = (to: () => MessageHandler<never, never>, env: unknown, transfer: ArrayBuffer[]) => {
    const copy = structuredClone(env, { transfer });
    queueMicrotask(() => void to().receive(copy));
  };
  a = new MessageHandler<AtoB, BtoA>(
    (env, transfer) => {
      log.push({ from: 'a', envelope: env, transfer });
      deliver(() => b as never, env, transfer);
    },
    (m) => handleA(m) as never,
  );
  b = new MessageHandler<BtoA, AtoB>(
    (env, transfer) => {
      log.push({ from: 'b', envelope: env, transfer });
      deliver(() => a as never, env, transfer);
    },
    (m) => handleB(m) as never,
  );
  return { a, b, log };
}

describe('shared/messaging MessageHandler', () => {
  it('matches replies to requests by id, also when answered out of order', async () => {
    const { a } = pair(async (m) => {
      if (m.type !== 'ping') return undefined;
      // The first request answers last.
      await new Promise((r) => setTimeout(r, m.n === 1 ? 30 : 1));
      return { type: 'pong', n: m.n * 10 };
    });
    const replies = await Promise.all([1, 2, 3].map((n) => a.request({ type: 'ping', n })));
    assert.deepEqual(replies, [
      { type: 'pong', n: 10 },
      { type: 'pong', n: 20 },
      { type: 'pong', n: 30 },
    ]);
    assert.equal(a.pendingCount, 0);
  });

  it('rejects the request with the remote handler error message', async () => {
    const { a } = pair((m) => {
      if (m.type === 'boom') throw new Error('NotNifti: bad magic');
      return undefined;
    });
    await assert.rejects(a.request({ type: 'boom' }), (e: unknown) => {
      assert.ok(e instanceof MessagingError);
      assert.equal(e.message, 'NotNifti: bad magic');
      return true;
    });
  });

  it('transfers ArrayBuffers instead of copying them (the sender loses access)', async () => {
    const { a, log } = pair(() => undefined);
    const buffer = new Uint8Array([1, 2, 3, 4]).buffer;
    a.event({ type: 'note' }, [buffer]);
    assert.equal(buffer.byteLength, 0, 'transferred buffers are detached on the sending side');
    assert.equal(log[0]!.transfer.length, 1);
  });

  it('sends reply buffers as transferables with withTransfer', async () => {
    const payload = new Float32Array([1.5, -2, 3]).buffer;
    const { a } = pair(() => withTransfer({ type: 'bytes', data: payload } as BtoA, [payload]));
    const reply = await a.request<{ type: 'bytes'; data: ArrayBuffer }>({ type: 'ping', n: 0 });
    assert.deepEqual(Array.from(new Float32Array(reply.data)), [1.5, -2, 3]);
    assert.equal(payload.byteLength, 0);
  });

  it('does not reply to events, and both directions work at once', async () => {
    const seenByA: BtoA[] = [];
    const { a, b, log } = pair(
      () => undefined,
      (m) => {
        seenByA.push(m);
        return { type: 'pong', n: 7 };
      },
    );
    a.event({ type: 'note' });
    const fromA = await b.request<AtoB>({ type: 'ask' });
    assert.deepEqual(fromA, { type: 'pong', n: 7 });
    await new Promise((r) => setTimeout(r, 5));
    // a sent: note (event) + one reply; b sent: ask. No reply to the event.
    assert.equal(log.filter((l) => l.from === 'b').length, 1);
    assert.equal(seenByA.length, 1);
  });

  it('rejects pending requests when closed and ignores junk envelopes', async () => {
    const { a } = pair(() => new Promise(() => {}));
    const pending = a.request({ type: 'ping', n: 1 });
    await a.receive(null);
    await a.receive({ nonsense: true });
    await a.receive({ id: 5, replyTo: 999, body: {} });
    a.close('webview disposed');
    await assert.rejects(pending, /webview disposed/);
    await assert.rejects(a.request({ type: 'ping', n: 2 }), /channel closed/);
  });
});
