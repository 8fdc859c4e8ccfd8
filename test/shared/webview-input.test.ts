// Hostile or broken webview messages (issue 14): the checks the extension host runs on every body a webview sends,
// and a fuzz of 6,000 random and mutated envelopes through the real MessageHandler with those checks, as the
// viewer, the Routing view and the evaluation panel wire it.
import assert from 'node:assert/strict';
import { MessageHandler, type Envelope } from '../../src/shared/messaging';
import {
  checkEvalViewMessage,
  checkRoutingViewMessage,
  checkViewerMessage,
  RefusalLog,
  WEBVIEW_LIMITS,
  type Checked,
} from '../../src/shared/webview-input';
import { prng } from '../prng';

describe('shared/webview-input', () => {
  it('passes protocol messages through, rebuilt from the protocol fields only', () => {
    const hostile = JSON.parse('{"type":"ask","question":"Is there an effusion?","__proto__":{"polluted":1},"extra":[1,2,3]}');
    const r = checkViewerMessage(hostile);
    assert.deepEqual(r, { ok: true, message: { type: 'ask', question: 'Is there an effusion?' } });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(checkViewerMessage({ type: 'cancelRun' }), { ok: true, message: { type: 'cancelRun' } });
    assert.deepEqual(checkRoutingViewMessage({ type: 'selectExpert', layerIndex: 1, group: 0, expert: 3 }), {
      ok: true,
      message: { type: 'selectExpert', layerIndex: 1, group: 0, expert: 3 },
    });
    assert.deepEqual(checkRoutingViewMessage({ type: 'setStyle', style: { opacity: 0.4, colormap: 'viridis', junk: 1 } }), {
      ok: true,
      message: { type: 'setStyle', style: { opacity: 0.4, colormap: 'viridis' } },
    });
    assert.deepEqual(checkEvalViewMessage({ type: 'save', path: '/etc/passwd' }), { ok: true, message: { type: 'save' } });
  });

  it('refuses unknown types, wrong field types, oversized strings, non-finite and out-of-range numbers, saying why', () => {
    const why = (c: Checked<unknown>) => (c.ok ? 'accepted' : `${c.type}: ${c.why}`);
    assert.equal(why(checkViewerMessage({ type: 'rm -rf' })), '(unknown type): not a message this side understands (type "rm -rf")');
    assert.equal(why(checkViewerMessage(null)), '(unknown type): not a message this side understands (type null)');
    assert.equal(why(checkViewerMessage({ type: 'ask', question: 42 })), 'ask: question must be a string');
    assert.equal(
      why(checkViewerMessage({ type: 'ask', question: 'x'.repeat(WEBVIEW_LIMITS.question + 1) })),
      `ask: question is ${WEBVIEW_LIMITS.question + 1} characters, more than ${WEBVIEW_LIMITS.question}`,
    );
    assert.equal(why(checkViewerMessage({ type: 'firstPaint', ms: NaN, renderer: 'webgl2' })), 'firstPaint: ms must be a number in 0..1000000000');
    assert.equal(why(checkViewerMessage({ type: 'log', level: 'fatal', message: 'x' })), 'log: level must be one of info, warn, error');
    assert.equal(
      why(checkRoutingViewMessage({ type: 'selectExpert', layerIndex: 1e12, group: 0, expert: 0 })),
      'selectExpert: layerIndex must be a number in 0..4096',
    );
    assert.equal(why(checkRoutingViewMessage({ type: 'selectDominant', layerIndex: 1.5 })), 'selectDominant: layerIndex must be an integer');
    assert.equal(why(checkRoutingViewMessage({ type: 'setStyle', style: { opacity: 7 } })), 'setStyle: opacity must be a number in 0..1');
    assert.equal(why(checkRoutingViewMessage({ type: 'setStyle', style: [] })), 'setStyle: style must be an object');
    assert.equal(why(checkRoutingViewMessage({ type: 'setStyle', style: { colormap: 'rainbow' } })), 'setStyle: colormap must be one of hot, viridis, jet, gray, labels');
  });

  it('logs one line per refused message type, not per message; unknown types share one line', () => {
    const lines: string[] = [];
    const log = new RefusalLog('viewer of a.nii', (l) => lines.push(l));
    for (let i = 0; i < 1000; i++) log.refused('ask', 'question must be a string');
    for (let i = 0; i < 1000; i++) log.refused('(unknown type)', `type ${i}`);
    assert.deepEqual(lines, [
      'viewer of a.nii: refused a ask message from the webview: question must be a string (further ones of this type are counted, not logged)',
      'viewer of a.nii: refused a (unknown type) message from the webview: type 0 (further ones of this type are counted, not logged)',
    ]);
    assert.deepEqual([...log.totals], [['ask', 1000], ['(unknown type)', 1000]]);
  });
});


const VALID = {
  viewer: [
    { type: 'ready' },
    { type: 'overlayApplied', id: 'ov-1' },
    { type: 'firstPaint', ms: 120, renderer: 'webgl2' },
    { type: 'rendererChanged', renderer: 'canvas2d', reason: 'no WebGL2' },
    { type: 'log', level: 'warn', message: 'hello' },
    { type: 'ask', question: 'Is there a nodule?' },
    { type: 'cancelRun', id: 'vqa-3' },
    { type: 'copyRun', id: 'report-1' },
    { type: 'inspectRouting', id: 'report-1' },
    { type: 'generateReport' },
    { type: 'clearChat' },
  ],
  routing: [
    { type: 'selectRun', id: 'vqa-2' },
    { type: 'selectExpert', layerIndex: 1, group: 1, expert: 3 },
    { type: 'selectDominant', layerIndex: 0 },
    { type: 'setStyle', style: { opacity: 0.3, threshold: 0.1, gated: true, scale: 'unit', colormap: 'jet' } },
    { type: 'clearHeatmap' },
  ],
  eval: [{ type: 'ready' }, { type: 'save' }, { type: 'cancel' }],
};

/** Values a broken or hostile webview might put anywhere. */
function junk(rand: () => number, depth = 0): unknown {
  const pool: (() => unknown)[] = [
    () => undefined,
    () => null,
    () => NaN,
    () => Infinity,
    () => -1,
    () => 2 ** 53,
    () => 1e308,
    () => 0.5,
    () => Math.floor(rand() * 10),
    () => '',
    () => 'x'.repeat(Math.floor(rand() * 5000)),
    () => '<image>'.repeat(50),
    () => true,
    () => [],
    () => new Array(100_000).fill(1),
    () => new Float64Array(1 << 16),
    () => new ArrayBuffer(1 << 20),
    () => ({ length: 1e15 }),
    () => (depth < 3 ? { type: junk(rand, depth + 1), nested: junk(rand, depth + 1) } : {}),
    () => ['ready', 'ask', 'selectExpert', 'setStyle', 'save', '__proto__', 'constructor', 'toString'][Math.floor(rand() * 8)],
  ];
  return pool[Math.floor(rand() * pool.length)]!();
}

function mutate(rand: () => number, base: Record<string, unknown>): unknown {
  const m = structuredClone(base) as Record<string, unknown>;
  const keys = [...Object.keys(m), 'type', 'question', 'id', 'layerIndex', 'group', 'expert', 'style', 'ms', 'extra'];
  const k = keys[Math.floor(rand() * keys.length)]!;
  const pick = rand();
  if (pick < 0.2) delete m[k];
  else if (pick < 0.3 && m.style && typeof m.style === 'object') (m.style as Record<string, unknown>)[['opacity', 'colormap', 'threshold', 'gated', 'scale'][Math.floor(rand() * 5)]!] = junk(rand);
  else m[k] = junk(rand);
  return m;
}

/** Independent of the module under test: what a handler may rely on for each type it is given. */
function assertWellFormed(m: Record<string, unknown>): void {
  const str = (v: unknown, max: number) => typeof v === 'string' && v.length <= max;
  const idx = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= WEBVIEW_LIMITS.index;
  const unit = (v: unknown) => v === undefined || (typeof v === 'number' && v >= 0 && v <= 1);
  switch (m.type) {
    case 'ask':
      assert.ok(str(m.question, WEBVIEW_LIMITS.question));
      break;
    case 'overlayApplied':
    case 'copyRun':
    case 'inspectRouting':
    case 'selectRun':
      assert.ok(str(m.id, WEBVIEW_LIMITS.id));
      break;
    case 'cancelRun':
      assert.ok(m.id === undefined || str(m.id, WEBVIEW_LIMITS.id));
      break;
    case 'firstPaint':
      assert.ok(Number.isFinite(m.ms) && ['webgl2', 'canvas2d'].includes(m.renderer as string));
      break;
    case 'log':
      assert.ok(['info', 'warn', 'error'].includes(m.level as string) && str(m.message, WEBVIEW_LIMITS.text));
      break;
    case 'selectExpert':
      assert.ok(idx(m.layerIndex) && idx(m.group) && idx(m.expert));
      break;
    case 'selectDominant':
      assert.ok(idx(m.layerIndex));
      break;
    case 'setStyle': {
      const s = m.style as Record<string, unknown>;
      assert.ok(s && typeof s === 'object' && unit(s.opacity) && unit(s.threshold));
      assert.ok(Object.keys(s).every((k) => ['opacity', 'threshold', 'colormap', 'gated', 'scale'].includes(k)));
      break;
    }
  }
  for (const v of Object.values(m)) assert.ok(!(v instanceof ArrayBuffer) && !ArrayBuffer.isView(v) && !(Array.isArray(v) && v.length > 16));
}

describe('webview message fuzz through MessageHandler', function () {
  this.timeout(60000);
  const CASES = 6000;

  it(`${CASES} random and mutated envelopes: the host never throws, handlers only see well-formed messages, one log line per refused type`, async () => {
    const rand = prng(0x14_0003);
    const views = [
      { name: 'viewer', check: checkViewerMessage, valid: VALID.viewer },
      { name: 'routing', check: checkRoutingViewMessage, valid: VALID.routing },
      { name: 'eval', check: checkEvalViewMessage, valid: VALID.eval },
    ] as const;
    const logLines: string[] = [];
    const delivered: Record<string, unknown>[] = [];
    const posted: Envelope<unknown>[] = [];
    const handlerErrors: string[] = [];
    const handlers = views.map((v) => {
      const refusals = new RefusalLog(v.name, (l) => logLines.push(l));
      return new MessageHandler<unknown, unknown>(
        (env) => posted.push(env),
        (m) => {
          assertWellFormed(m as Record<string, unknown>);
          delivered.push(m as Record<string, unknown>);
          return { type: 'ok' };
        },
        // A handler that was given a malformed message fails its assertion here (MessageHandler catches it).
        (e, m) => handlerErrors.push(`${String(e)} on ${JSON.stringify(m)?.slice(0, 100)}`),
        { validate: v.check as (b: unknown) => Checked<unknown>, onRefused: (t, w) => refusals.refused(t, w) },
      );
    });
    let refusedRequests = 0;
    for (let n = 0; n < CASES; n++) {
      const at = Math.floor(rand() * views.length);
      const view = views[at]!;
      const base = view.valid[Math.floor(rand() * view.valid.length)]! as Record<string, unknown>;
      const pick = rand();
      const body = pick < 0.15 ? base : pick < 0.75 ? mutate(rand, base) : junk(rand);
      const expectsReply = rand() < 0.5;
      const raw: unknown = rand() < 0.05 ? junk(rand) : { id: n, body, ...(expectsReply ? { expectsReply: true } : {}) };
      const before = posted.length;
      await handlers[at]!.receive(raw); // must never reject
      const c = view.check(body);
      if (expectsReply && typeof raw === 'object' && raw !== null && 'body' in raw) {
        const reply = posted.slice(before).find((e) => e.replyTo === n);
        assert.ok(reply, `a request gets an answer (case ${n})`);
        if (!c.ok) {
          refusedRequests++;
          assert.match(reply.error ?? '', /^refused: /);
        }
      }
    }
    assert.deepEqual(handlerErrors.slice(0, 5), []);
    assert.ok(delivered.length > CASES * 0.1, `some messages were valid (${delivered.length})`);
    assert.ok(refusedRequests > CASES * 0.1, `most mutated requests were refused (${refusedRequests})`);
    // Each view logs each refused type once: at most (its types + the unknown bucket) lines per view.
    const perView = (name: string) => logLines.filter((l) => l.startsWith(`${name}:`));
    assert.ok(perView('viewer').length <= 15 && perView('routing').length <= 9 && perView('eval').length <= 4, logLines.join('\n'));
    assert.equal(new Set(logLines).size, logLines.length, 'no line repeated');
  });

  it('a refused reply rejects the pending request instead of resolving it with junk', async () => {
    const posted: Envelope<unknown>[] = [];
    const h = new MessageHandler<unknown, unknown>((e) => posted.push(e), () => undefined, () => {}, {
      validate: checkViewerMessage as (b: unknown) => Checked<unknown>,
    });
    const p = h.request({ type: 'setOverlay' });
    await h.receive({ id: 1, replyTo: posted[0]!.id, body: { type: 'overlayApplied', id: 42 } });
    await assert.rejects(p, /^MessagingError: refused reply: id must be a string/);
  });

  it('a post that throws (the webview is gone) does not escape receive', async () => {
    const errors: unknown[] = [];
    const h = new MessageHandler<unknown, unknown>(
      () => {
        throw new Error('Webview is disposed');
      },
      () => ({ type: 'ok' }),
      (e) => errors.push(e),
      { validate: checkViewerMessage as (b: unknown) => Checked<unknown> },
    );
    await h.receive({ id: 1, expectsReply: true, body: { type: 'ready' } });
    await h.receive({ id: 2, expectsReply: true, body: { type: 'nonsense' } });
    assert.equal(errors.length, 2);
  });
});
