// The model host's backend: one loaded CtLensModel at a time, reused for every request that names the same
// package, provider, dtype and thread count (sessions load once), replaced when another is asked for — a provider
// setting changed while the host runs is such a load. The previous sessions are released before the new ones are
// made, so the two never hold memory at once (measured in test/modelhost/provider-switch.test.ts: RSS back within
// 10 % after cpu → webgpu → cpu); a failed load leaves nothing loaded, and the next load starts clean.

import { resolve } from 'node:path';
import { CtLensModel } from '../core/model/model';
import { ModelError } from '../core/model/errors';
import { fallbackNote } from '../core/model/provider-note';
import type { HostBackend } from './host';

/** `log`: where the one line saying why `auto` fell back goes (the host's stderr: the client's output channel). */
export function createRuntimeBackend(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): HostBackend {
  let model: CtLensModel | null = null;
  let key = '';
  return {
    async load(params) {
      const want = JSON.stringify([resolve(params.packageDir), params.executionProvider, params.dtype ?? 'fp32', params.threads ?? null]);
      if (model && key === want) return { model: model.info, provider: model.provider, loadMs: 0, reused: true, preprocess: model.pkg.spec.preprocess };
      const old = model;
      model = null;
      key = '';
      await old?.release();
      const loaded = await CtLensModel.load(params.packageDir, {
        executionProvider: params.executionProvider,
        threads: params.threads,
        dtype: params.dtype,
      });
      const note = fallbackNote(loaded.provider);
      if (note) log(note);
      model = loaded;
      key = want;
      return { model: loaded.info, provider: loaded.provider, loadMs: loaded.loadMs, reused: false, preprocess: loaded.pkg.spec.preprocess };
    },
    async generate(params, emit, signal) {
      if (!model) throw new ModelError('NotLoaded', 'no model is loaded in the model host (send load first)');
      return model.generate(params, { onEvent: emit }, signal);
    },
    async unload() {
      const had = model !== null;
      await model?.release();
      model = null;
      key = '';
      return had;
    },
    loaded: () => model?.info ?? null,
  };
}
