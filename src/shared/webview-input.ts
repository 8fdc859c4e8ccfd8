// What the extension host accepts from its webviews (issue 14). A webview is the least trusted side of CT Lens: it
// renders model text and file names, and a bug or an injected script there must not reach the host as a crash, a
// huge allocation or an out-of-range index. Every message body is checked against the protocol's types before a
// handler sees it, and rebuilt from the fields the protocol names (extra fields, prototypes and oversized strings
// stay behind). A refused message is logged once per message type — a flood of junk is one line, not thousands.

import type { EvalViewToHost } from './eval-view-protocol';
import { OVERLAY_COLORMAPS } from './overlay';
import type { FromWebviewMessage } from './protocol';
import type { HeatmapStyle, RoutingViewToHost } from './routing-view-protocol';

/** Bounds on strings a webview may send: ids are short, questions are a few sentences, log lines one screen. */
export const WEBVIEW_LIMITS = { id: 200, question: 2000, text: 4000, index: 4096 } as const;

export type Checked<T> = { ok: true; message: T } | { ok: false; type: string; why: string };

type Obj = Record<string, unknown>;

class Refused extends Error {}

function field(o: Obj, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

function str(o: Obj, key: string, max: number): string {
  const v = field(o, key);
  if (typeof v !== 'string') throw new Refused(`${key} must be a string`);
  if (v.length > max) throw new Refused(`${key} is ${v.length} characters, more than ${max}`);
  return v;
}

function optStr(o: Obj, key: string, max: number): string | undefined {
  return field(o, key) === undefined ? undefined : str(o, key, max);
}

function oneOf<T extends string>(o: Obj, key: string, values: readonly T[]): T {
  const v = field(o, key);
  if (typeof v !== 'string' || !values.includes(v as T)) throw new Refused(`${key} must be one of ${values.join(', ')}`);
  return v as T;
}

function num(o: Obj, key: string, min: number, max: number): number {
  const v = field(o, key);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new Refused(`${key} must be a number in ${min}..${max}`);
  return v;
}

function index(o: Obj, key: string): number {
  const v = num(o, key, 0, WEBVIEW_LIMITS.index);
  if (!Number.isInteger(v)) throw new Refused(`${key} must be an integer`);
  return v;
}

function bool(o: Obj, key: string): boolean {
  const v = field(o, key);
  if (typeof v !== 'boolean') throw new Refused(`${key} must be true or false`);
  return v;
}

/** The `type` of a body, for the refusal log: a known type, or one bucket for every unknown one. */
function typeOf(body: unknown, known: readonly string[]): string {
  const t = typeof body === 'object' && body !== null ? (body as Obj).type : undefined;
  return typeof t === 'string' && known.includes(t) ? t : '(unknown type)';
}

function check<T>(body: unknown, known: readonly string[], build: (o: Obj, type: string) => T): Checked<T> {
  const type = typeOf(body, known);
  if (type === '(unknown type)') {
    const t = typeof body === 'object' && body !== null ? (body as Obj).type : body;
    return { ok: false, type, why: `not a message this side understands (type ${JSON.stringify(t)?.slice(0, 40) ?? String(t)})` };
  }
  try {
    return { ok: true, message: build(body as Obj, type) };
  } catch (e) {
    if (e instanceof Refused) return { ok: false, type, why: e.message };
    return { ok: false, type, why: `malformed (${e instanceof Error ? e.message : String(e)})` };
  }
}

const VIEWER_TYPES = [
  'ready',
  'overlayApplied',
  'firstPaint',
  'rendererChanged',
  'log',
  'openOverlay',
  'ok',
  'generateReport',
  'ask',
  'cancelRun',
  'saveReport',
  'copyRun',
  'clearChat',
  'inspectRouting',
] as const satisfies readonly FromWebviewMessage['type'][];

/** A message (or reply body) from the viewer webview. */
export function checkViewerMessage(body: unknown): Checked<FromWebviewMessage> {
  return check(body, VIEWER_TYPES, (o, type): FromWebviewMessage => {
    switch (type as FromWebviewMessage['type']) {
      case 'overlayApplied':
        return { type: 'overlayApplied', id: str(o, 'id', WEBVIEW_LIMITS.id) };
      case 'firstPaint':
        return { type: 'firstPaint', ms: num(o, 'ms', 0, 1e9), renderer: oneOf(o, 'renderer', ['webgl2', 'canvas2d']) };
      case 'rendererChanged':
        return { type: 'rendererChanged', renderer: oneOf(o, 'renderer', ['webgl2', 'canvas2d']), reason: str(o, 'reason', WEBVIEW_LIMITS.text) };
      case 'log':
        return { type: 'log', level: oneOf(o, 'level', ['info', 'warn', 'error']), message: str(o, 'message', WEBVIEW_LIMITS.text) };
      case 'ask':
        return { type: 'ask', question: str(o, 'question', WEBVIEW_LIMITS.question) };
      case 'cancelRun': {
        const id = optStr(o, 'id', WEBVIEW_LIMITS.id);
        return id === undefined ? { type: 'cancelRun' } : { type: 'cancelRun', id };
      }
      case 'copyRun':
        return { type: 'copyRun', id: str(o, 'id', WEBVIEW_LIMITS.id) };
      case 'inspectRouting':
        return { type: 'inspectRouting', id: str(o, 'id', WEBVIEW_LIMITS.id) };
      default:
        return { type } as FromWebviewMessage; // ready, openOverlay, ok, generateReport, saveReport, clearChat: no fields
    }
  });
}

const ROUTING_TYPES = [
  'ready',
  'selectRun',
  'selectExpert',
  'selectDominant',
  'setStyle',
  'clearHeatmap',
  'generateReport',
  'openSample',
] as const satisfies readonly RoutingViewToHost['type'][];

function style(o: Obj): Partial<HeatmapStyle> {
  const s = field(o, 'style');
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new Refused('style must be an object');
  const so = s as Obj;
  const out: Partial<HeatmapStyle> = {};
  if (field(so, 'colormap') !== undefined) out.colormap = oneOf(so, 'colormap', OVERLAY_COLORMAPS);
  if (field(so, 'opacity') !== undefined) out.opacity = num(so, 'opacity', 0, 1);
  if (field(so, 'threshold') !== undefined) out.threshold = num(so, 'threshold', 0, 1);
  if (field(so, 'gated') !== undefined) out.gated = bool(so, 'gated');
  if (field(so, 'scale') !== undefined) out.scale = oneOf(so, 'scale', ['map', 'unit'] as const);
  return out;
}

/** A message from the Routing view. Indices are bounded here; whether they exist in the run is checked where the
 * run is known (selectionFits). */
export function checkRoutingViewMessage(body: unknown): Checked<RoutingViewToHost> {
  return check(body, ROUTING_TYPES, (o, type): RoutingViewToHost => {
    switch (type as RoutingViewToHost['type']) {
      case 'selectRun':
        return { type: 'selectRun', id: str(o, 'id', WEBVIEW_LIMITS.id) };
      case 'selectExpert':
        return { type: 'selectExpert', layerIndex: index(o, 'layerIndex'), group: index(o, 'group'), expert: index(o, 'expert') };
      case 'selectDominant':
        return { type: 'selectDominant', layerIndex: index(o, 'layerIndex') };
      case 'setStyle':
        return { type: 'setStyle', style: style(o) };
      default:
        return { type } as RoutingViewToHost;
    }
  });
}

const EVAL_TYPES = ['ready', 'save', 'cancel'] as const satisfies readonly EvalViewToHost['type'][];

/** A message from the evaluation panel (no fields beyond its type). */
export function checkEvalViewMessage(body: unknown): Checked<EvalViewToHost> {
  return check(body, EVAL_TYPES, (_o, type) => ({ type }) as EvalViewToHost);
}

/**
 * Logs refused messages once per (view, type) and counts the rest: a webview sending junk in a loop costs one log
 * line per kind of junk. Unknown types share one bucket, so random type strings cannot grow the set.
 */
export class RefusalLog {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly view: string,
    private readonly log: (line: string) => void,
  ) {}

  refused(type: string, why: string): void {
    const n = this.counts.get(type) ?? 0;
    this.counts.set(type, n + 1);
    if (n === 0) this.log(`${this.view}: refused a ${type} message from the webview: ${why} (further ones of this type are counted, not logged)`);
  }

  /** Refusals so far, by type. */
  get totals(): ReadonlyMap<string, number> {
    return this.counts;
  }
}
