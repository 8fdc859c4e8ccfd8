// The model settings (contributed in package.json) as plain values. No `vscode` import: VS Code's
// WorkspaceConfiguration.get / inspect are passed in, so the rules below are unit-tested.
//
// - ctlens.modelPath: a model package folder; empty = the bundled package. It is a restricted setting
//   (capabilities.untrustedWorkspaces.restrictedConfigurations): a package is native-code input to onnxruntime, so a
//   folder named by a workspace's own settings is honoured only in a trusted workspace. VS Code already hides
//   workspace values of restricted settings in untrusted workspaces; this module applies the same rule itself so it
//   holds whatever VS Code version runs it.
// - ctlens.executionProvider: auto | cuda | webgpu | dml | coreml | cpu.
// - ctlens.dtype: auto | fp32 | fp16 (src/core/model/dtype.ts; auto = fp16 on WebGPU where the package has
//   onnx/*_fp16.onnx, else fp32), sent to the host as LoadParams.dtype.
// - ctlens.maxNewTokens, ctlens.temperature (0 = greedy, the default), ctlens.topP, ctlens.repetitionPenalty: null
//   or 0 means "the package's generation_config.json", so a run in VS Code and `ctlens report` agree by default.

import * as path from 'node:path';
import { MODEL_DTYPES, type ModelDtype } from '../../core/model/dtype';
import type { ExecutionProviderChoice, GenerationOptions } from '../../shared/modelhost-protocol';

export const EXECUTION_PROVIDERS: readonly ExecutionProviderChoice[] = ['auto', 'cuda', 'webgpu', 'dml', 'coreml', 'cpu'];

/** The parts of WorkspaceConfiguration.inspect this module reads. */
export interface InspectedValue<T> {
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

export interface ModelConfigAccess {
  get<T>(key: string): T | undefined;
  inspect<T>(key: string): InspectedValue<T> | undefined;
}

export type ModelPathSource = 'bundled' | 'user' | 'workspace';

export interface ModelTarget {
  /** Absolute folder of the package. */
  packageDir: string;
  source: ModelPathSource;
  executionProvider: ExecutionProviderChoice;
  dtype: ModelDtype;
  /** Set when a workspace asked for a package that was not used (untrusted workspace). */
  ignored?: string;
}

export interface ModelLocation {
  bundledDir: string;
  trusted: boolean;
  /** First workspace folder (fsPath): a relative ctlens.modelPath is resolved against it. */
  workspaceRoot?: string;
  /** The user's home (`~/models/x` in a setting). */
  home?: string;
}

function cleanPath(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function resolvePath(p: string, loc: ModelLocation): string {
  if (p === '~' || p.startsWith('~/')) return path.join(loc.home ?? '~', p.slice(1));
  if (path.isAbsolute(p)) return path.normalize(p);
  return path.resolve(loc.workspaceRoot ?? loc.bundledDir, p);
}

/** Which package and execution provider the settings ask for. */
export function modelTarget(config: ModelConfigAccess, loc: ModelLocation): ModelTarget {
  const ep = config.get<string>('executionProvider');
  const executionProvider = EXECUTION_PROVIDERS.includes(ep as ExecutionProviderChoice) ? (ep as ExecutionProviderChoice) : 'auto';
  const dt = config.get<string>('dtype');
  const dtype = MODEL_DTYPES.includes(dt as ModelDtype) ? (dt as ModelDtype) : 'auto';
  const inspected = config.inspect<string>('modelPath');
  const workspace = cleanPath(inspected?.workspaceFolderValue) ?? cleanPath(inspected?.workspaceValue);
  const user = cleanPath(inspected?.globalValue);
  if (workspace && loc.trusted) return { packageDir: resolvePath(workspace, loc), source: 'workspace', executionProvider, dtype };
  const ignored = workspace && !loc.trusted ? workspace : undefined;
  if (user) return { packageDir: resolvePath(user, loc), source: 'user', executionProvider, dtype, ...(ignored ? { ignored } : {}) };
  return { packageDir: loc.bundledDir, source: 'bundled', executionProvider, dtype, ...(ignored ? { ignored } : {}) };
}

/** The key under which a loaded model is reused: same folder, same provider, same dtype. */
export function targetKey(t: Pick<ModelTarget, 'packageDir' | 'executionProvider' | 'dtype'>): string {
  return `${path.resolve(t.packageDir)}\u0000${t.executionProvider}\u0000${t.dtype}`;
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

/**
 * Generation options from the settings. Greedy unless ctlens.temperature > 0; every unset value is left to the
 * package's generation_config.json.
 */
export function generationOptions(config: Pick<ModelConfigAccess, 'get'>): GenerationOptions {
  const options: GenerationOptions = {};
  const maxNewTokens = positive(config.get<number>('maxNewTokens'));
  if (maxNewTokens !== undefined) options.maxNewTokens = Math.floor(maxNewTokens);
  const temperature = positive(config.get<number>('temperature'));
  if (temperature !== undefined) {
    options.doSample = true;
    options.temperature = temperature;
    const topP = positive(config.get<number>('topP'));
    if (topP !== undefined) options.topP = Math.min(1, topP);
  } else {
    options.doSample = false;
  }
  const penalty = positive(config.get<number>('repetitionPenalty'));
  if (penalty !== undefined) options.repetitionPenalty = penalty;
  return options;
}

/** How a run was decoded, in words, for the line under the text. */
export function decodingLabel(options: GenerationOptions): string {
  const parts: string[] = [];
  if (options.doSample) {
    parts.push(`sampling (temperature ${options.temperature ?? 1}${options.topP !== undefined ? `, top-p ${options.topP}` : ''})`);
  } else {
    parts.push('greedy');
  }
  if (options.repetitionPenalty !== undefined) parts.push(`repetition penalty ${options.repetitionPenalty}`);
  return parts.join(', ');
}
