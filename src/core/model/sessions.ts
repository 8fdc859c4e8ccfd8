// onnxruntime sessions for the three graphs of a package, on the best execution provider that works.
//
// `auto` tries the GPU providers this platform's onnxruntime-node build can have, in order of expected speed, and
// falls back to the CPU; every attempt is reported (which provider runs and why the others could not), because
// "why is it slow" is the first question a user asks. A GPU provider can fail at session creation for reasons
// only known at run time (no CUDA libraries, no WebGPU adapter, a driver too old), so trying is the only test.

import * as ort from 'onnxruntime-node';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { resolveDtype, type GraphDtype, type ModelDtype } from './dtype';
import { describeError, ModelError } from './errors';
import { probeWebGpu, type WebGpuProbe } from './webgpu-probe';

export { fallbackNote } from './provider-note';

/** `auto` tries the platform's GPU providers in order, then the CPU. */
export type ExecutionProviderChoice = 'auto' | 'cuda' | 'webgpu' | 'dml' | 'coreml' | 'cpu';
export type ExecutionProviderName = Exclude<ExecutionProviderChoice, 'auto'>;

/** One provider tried while creating the sessions. */
export interface ProviderAttempt {
  provider: ExecutionProviderName;
  ok: boolean;
  /** Why it could not be used (first line of onnxruntime's message). */
  error?: string;
  ms: number;
}

export interface ProviderReport {
  requested: ExecutionProviderChoice;
  /** The provider the sessions run on. */
  used: ExecutionProviderName;
  attempts: ProviderAttempt[];
  /** The weights the sessions run with (src/core/model/dtype.ts); absent from hosts older than issue 15. */
  dtype?: GraphDtype;
}

export type GraphRole = 'vision_encoder' | 'embed_tokens' | 'decoder_model_merged';
export const GRAPH_ROLES: readonly GraphRole[] = ['vision_encoder', 'embed_tokens', 'decoder_model_merged'];

export type SessionSet = Record<GraphRole, ort.InferenceSession>;

export interface CreatedSessions {
  sessions: SessionSet;
  provider: ProviderReport;
  dtype: GraphDtype;
}

export interface SessionConfig {
  /** Intra-op threads; default: every core (onnxruntime's own default is also the physical cores). */
  threads?: number;
  /** The decoder's present.* output names (from the package config), kept on the GPU by GPU providers. */
  kvOutputNames?: readonly string[];
  /** Injected in tests; default: onnxruntime-node's InferenceSession.create. */
  create?: (path: string, options: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>;
  /**
   * Asks, before WebGPU sessions are made in this process, whether an adapter exists (webgpu-probe.ts: in a child,
   * so that Dawn's warnings stay off our stderr). Default: probeWebGpu on the smallest graph; skipped when
   * `create` is injected, unless a probe is injected too.
   */
  probeWebGpu?: (graph: string) => Promise<WebGpuProbe>;
  /** fp32 | fp16 | auto (dtype.ts); default fp32. */
  dtype?: ModelDtype;
  /** The package's fp16 graphs, when it has them. */
  fp16Paths?: Record<GraphRole, string> | null;
}

const GPU_ORDER: Record<string, ExecutionProviderName[]> = {
  // Linux: CUDA when its libraries were installed (onnxruntime-node downloads them at install time unless told not
  // to), else WebGPU through Dawn/Vulkan, which the package bundles.
  linux: ['cuda', 'webgpu'],
  // Windows: DirectML is bundled and fast on any DX12 GPU; WebGPU (Dawn/D3D12) next.
  win32: ['dml', 'webgpu'],
  // macOS: CoreML (ANE/GPU), then WebGPU (Dawn/Metal).
  darwin: ['coreml', 'webgpu'],
};

/** Providers to try, in order, for a choice on a platform; `auto` always ends with the CPU. */
export function providerOrder(choice: ExecutionProviderChoice, platform: string = process.platform): ExecutionProviderName[] {
  if (choice !== 'auto') return [choice];
  return [...(GPU_ORDER[platform] ?? []), 'cpu'];
}

/** Session options per provider (measured: graph optimisation 'all' fuses LayerNorm/GELU/attention on CPU). */
export function sessionOptions(
  provider: ExecutionProviderName,
  role: GraphRole,
  outputNames: readonly string[] | null,
  threads: number,
): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableCpuMemArena: true,
    // Failed GPU provider probes are reported by us (ProviderReport); onnxruntime's own error lines on stderr would
    // only repeat them. On the CPU, errors still print.
    logSeverityLevel: provider === 'cpu' ? 3 : 4,
    // Worker threads sleep instead of spinning between the small kernels of a decoding step. Measured on the
    // 2-core machine with other work running: decode 7.9 ms/token without spinning vs 21.7 ms with it (2 threads);
    // and an editor extension should not burn idle cores.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
  // On WebGPU, keep the KV cache where the model runs: present.* stay GPU buffers and come back as the next
  // step's past_key_values without a round trip through host memory; logits still come to the CPU. The Node
  // binding's 'gpu-buffer' location is WebGPU memory ("WebGpu_Buf" in its IO binding), so it does not apply to
  // CUDA, whose outputs come back to the CPU each step.
  if (role === 'decoder_model_merged' && outputNames && provider === 'webgpu') {
    const location: Record<string, ort.Tensor.DataLocation> = {};
    for (const name of outputNames) if (name.startsWith('present')) location[name] = 'gpu-buffer';
    options.preferredOutputLocation = location;
  }
  return options;
}

/**
 * Why onnxruntime-node's CUDA provider cannot load, without trying it: its install script downloads the provider
 * libraries next to the binding only where CUDA was wanted (`--onnxruntime-node-install-cuda`), so their absence
 * is certain and trying would only print a native error on stderr. null when the libraries are there.
 */
export function cudaProviderMissing(): string | null {
  let bin: string;
  try {
    bin = join(dirname(dirname(require.resolve('onnxruntime-node'))), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return null; // unknown layout: let onnxruntime say what is wrong
  }
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return existsSync(join(bin, lib)) ? null : `onnxruntime-node was installed without its CUDA provider (${lib} not found)`;
}

/**
 * onnxruntime's messages for a graph it cannot build whatever the provider: a file that is not a valid protobuf,
 * a graph that fails its checker or shape inference, a node or attribute that makes no sense. Seen in the package
 * fuzz (test/core/model/package-fuzz.test.ts) on truncated and bit-flipped graphs.
 */
const GRAPH_FAULT = /protobuf parsing failed|INVALID_PROTOBUF|INVALID_GRAPH|invalid model|Load model from .* failed|ShapeInferenceError|TypeInferenceError/i;

/** A session-creation failure that is the graph file's fault (any provider), else null. */
function graphFault(role: GraphRole, path: string, provider: ExecutionProviderName, e: unknown): ModelError | null {
  const why = describeError(e);
  // The CPU provider takes every graph a valid file can hold; when it refuses, the file is at fault.
  if (provider !== 'cpu' && !GRAPH_FAULT.test(why)) return null;
  return new ModelError('CorruptModel', `onnx/${basename(path)} (${role}) cannot be loaded by onnxruntime: ${why.slice(0, 300)}`, { cause: e });
}

/**
 * Creates the three sessions on the first provider of `providerOrder(choice)` that accepts all of them.
 * An explicit provider that fails is an error (ProviderUnavailable) — never a silent CPU fallback.
 */
export async function createSessions(
  paths: Record<GraphRole, string>,
  choice: ExecutionProviderChoice,
  config: SessionConfig = {},
): Promise<CreatedSessions> {
  const threads = config.threads ?? availableParallelism();
  const create = config.create ?? ((p, o) => ort.InferenceSession.create(p, o));
  const attempts: ProviderAttempt[] = [];
  const dtypeChoice = config.dtype ?? 'fp32';
  if (dtypeChoice === 'fp16' && !config.fp16Paths) {
    throw new ModelError('MissingFile', 'dtype fp16 was asked for, but the package has no onnx/*_fp16.onnx graphs (make them with model/fp16.py)');
  }
  for (const provider of providerOrder(choice)) {
    const t0 = performance.now();
    let missing = provider === 'cuda' && !config.create ? cudaProviderMissing() : null;
    if (provider === 'webgpu' && (config.probeWebGpu || !config.create)) {
      const probe = await (config.probeWebGpu ?? probeWebGpu)(paths.embed_tokens);
      if (!probe.ok) missing = probe.reason ?? 'no WebGPU adapter';
    }
    if (missing) {
      attempts.push({ provider, ok: false, error: missing, ms: performance.now() - t0 });
      continue;
    }
    // dtype auto picks fp16 on WebGPU, but not every adapter has shader-f16 (SwiftShader has not: "Program
    // Transpose requires f16 but the device does not support it"); then the same provider runs the fp32 graphs.
    const resolved = resolveDtype(dtypeChoice, provider, Boolean(config.fp16Paths));
    const dtypes: GraphDtype[] = resolved === 'fp16' && dtypeChoice === 'auto' ? ['fp16', 'fp32'] : [resolved];
    for (const dtype of dtypes) {
      const graphs = dtype === 'fp16' ? config.fp16Paths! : paths;
      const t1 = performance.now();
      const made: Partial<SessionSet> = {};
      let role: GraphRole = GRAPH_ROLES[0]!;
      try {
        for (role of GRAPH_ROLES) {
          const outputs = role === 'decoder_model_merged' ? (config.kvOutputNames ?? null) : null;
          made[role] = await create(graphs[role], sessionOptions(provider, role, outputs, threads));
        }
        attempts.push({ provider, ok: true, ms: performance.now() - t1 });
        return {
          sessions: made as SessionSet,
          provider: { requested: choice, used: provider, attempts, dtype },
          dtype,
        };
      } catch (e) {
        const why = describeError(e);
        attempts.push({ provider, ok: false, error: dtypes.length > 1 ? `${dtype} graphs: ${why}` : why, ms: performance.now() - t1 });
        await Promise.all(Object.values(made).map((s) => s.release().catch(() => undefined)));
        // A damaged file is named as such, not passed off as a provider problem (issue 14).
        const fault = graphFault(role, graphs[role], provider, e);
        if (fault) throw fault;
      }
    }
  }
  const why = attempts.map((a) => `${a.provider}: ${a.error}`).join('; ');
  throw new ModelError('ProviderUnavailable', `no execution provider could load the model (${why})`);
}

export async function releaseSessions(sessions: SessionSet): Promise<void> {
  await Promise.all(GRAPH_ROLES.map((r) => sessions[r].release().catch(() => undefined)));
}
