// The model host's backend: one loaded CtLensModel at a time, reused for every request that names the same
// package, provider and thread count (sessions load once), replaced when another package is asked for.

import { resolve } from 'node:path';
import { CtLensModel } from '../core/model/model';
import { ModelError } from '../core/model/errors';
import type { HostBackend } from './host';

export function createRuntimeBackend(): HostBackend {
  let model: CtLensModel | null = null;
  let key = '';
  return {
    async load(params) {
      const want = JSON.stringify([resolve(params.packageDir), params.executionProvider, params.threads ?? null]);
      if (model && key === want) return { model: model.info, provider: model.provider, loadMs: 0, reused: true, preprocess: model.pkg.spec.preprocess };
      const old = model;
      model = null;
      key = '';
      await old?.release();
      const loaded = await CtLensModel.load(params.packageDir, { executionProvider: params.executionProvider, threads: params.threads });
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
