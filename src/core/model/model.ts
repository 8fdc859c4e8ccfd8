// A loaded CT Lens model: the package, its three sessions on one execution provider, the tokenizer, and the
// pipeline from a preprocessed volume to text — prompt → text guidance → vision encoder (+ routing) → image
// features in place of the image tokens → KV-cached generation, streamed. Used in-process by the CLI and inside
// the model host by the extension. Load once, generate many times: sessions are reused across requests.

import * as ort from 'onnxruntime-node';
import type { ModelDtype } from './dtype';
import { firstNonFinite, nonFiniteError, OnnxCausalLm } from './decoder';
import { describeError, ModelError, throwIfAborted } from './errors';
import { generate, type GenerateConfig } from './generate';
import { checkGraphs } from './graphs';
import { runtimeNotices } from './notices';
import { readModelPackage, type ModelPackage, type PackageSpec } from './package';
import type { InputGeometry } from './preprocess';
import { buildPrompt, textGuidance } from './prompt';
import { routingShapeProblem, summarizeRouting, type RoutingData } from './routing';
import type { GenerateEvent, GenerateParams, GenerateResult, ModelInfo } from './run';
import { createSessions, releaseSessions, type ExecutionProviderChoice, type ProviderReport, type SessionSet } from './sessions';
import { TextStreamer } from './streamer';
import { PackageTokenizer } from './tokenizer';

export interface LoadOptions {
  executionProvider?: ExecutionProviderChoice;
  threads?: number;
  /** fp32 | fp16 | auto (dtype.ts); default fp32. */
  dtype?: ModelDtype;
}

export interface RunHooks {
  onEvent?: (event: GenerateEvent) => void;
  /** Raw last-position logits of the prefill (parity checks). */
  onPrefillLogits?: (logits: Float32Array) => void;
}

export class CtLensModel {
  private constructor(
    readonly pkg: ModelPackage,
    private readonly sessions: SessionSet,
    private readonly lm: OnnxCausalLm,
    readonly tokenizer: PackageTokenizer,
    readonly provider: ProviderReport,
    public loadMs: number,
  ) {}

  static async load(dir: string, options: LoadOptions = {}): Promise<CtLensModel> {
    const t0 = performance.now();
    const pkg = await readModelPackage(dir);
    const tokenizer = new PackageTokenizer(pkg.tokenizerJson, pkg.tokenizerConfig);
    // Ids the tokenizer can produce must have rows in the embedding table and logits in the decoder.
    if (tokenizer.vocabSize > pkg.decoder.vocabSize) {
      throw new ModelError('BadConfig', `tokenizer.json has ${tokenizer.vocabSize} tokens, more than config.json's vocab_size ${pkg.decoder.vocabSize}`);
    }
    const kvOutputNames = Array.from({ length: pkg.decoder.layers }, (_, i) => [`present.${i}.key`, `present.${i}.value`]).flat();
    const { sessions, provider } = await createSessions(pkg.graphs, options.executionProvider ?? 'auto', {
      threads: options.threads,
      kvOutputNames,
      dtype: options.dtype,
      fp16Paths: pkg.graphsFp16,
    });
    try {
      checkGraphs(pkg, sessions);
      const lm = await OnnxCausalLm.create(sessions.embed_tokens, sessions.decoder_model_merged, pkg.decoder);
      const model = new CtLensModel(pkg, sessions, lm, tokenizer, provider, 0);
      // One vision run on a blank volume: checks the sizes the graph metadata leaves symbolic (image features,
      // routing grid) before any user input, and takes the first-run allocations out of the first report.
      const [D, H, W] = pkg.spec.preprocess.inputSize;
      const C = pkg.spec.preprocess.windows.length;
      await model.runVision(new Float32Array(C * D * H * W), new Float32Array(pkg.spec.textGuidanceDim), [1, C, D, H, W]);
      model.loadMs = performance.now() - t0;
      return model;
    } catch (e) {
      await releaseSessions(sessions);
      throw e;
    }
  }

  /** Where the KV cache was kept in the last run ('gpu-buffer': on the WebGPU device between steps). */
  get kvCacheLocation(): string | null {
    return this.lm.kvLocation;
  }

  get info(): ModelInfo {
    const { spec } = this.pkg;
    return {
      name: this.pkg.name,
      version: spec.version,
      packageDir: this.pkg.dir,
      inputSize: spec.preprocess.inputSize,
      patchGrid: spec.patchGrid,
      moeLayers: spec.moe.layers,
      groupNames: spec.moe.groupNames,
      expertsPerGroup: spec.moe.expertsPerGroup,
      topK: spec.moe.topK,
      trainedOn: spec.trainedOn,
    };
  }

  /** Generation settings: the package's generation_config.json, overridden by the request. */
  generationConfig(params: GenerateParams): GenerateConfig {
    const g = this.pkg.generation;
    const o = params.options ?? {};
    return {
      maxNewTokens: o.maxNewTokens ?? g.maxNewTokens,
      minNewTokens: o.minNewTokens ?? 0,
      eosTokenIds: g.eosTokenIds,
      doSample: o.doSample ?? g.doSample,
      temperature: o.temperature ?? g.temperature,
      topP: o.topP ?? g.topP,
      repetitionPenalty: o.repetitionPenalty ?? g.repetitionPenalty,
      seed: o.seed ?? 0,
    };
  }

  async generate(params: GenerateParams, hooks: RunHooks = {}, signal?: AbortSignal): Promise<GenerateResult> {
    const t0 = performance.now();
    const { spec, decoder } = this.pkg;
    const [D, H, W] = spec.preprocess.inputSize;
    const C = spec.preprocess.windows.length;
    if (!(params.pixelValues instanceof Float32Array) || params.pixelValues.length !== C * D * H * W) {
      throw new ModelError('BadInput', `pixel_values must be a Float32Array of 1×${C}×${D}×${H}×${W} values (got ${params.pixelValues?.length})`);
    }
    const config = this.generationConfig(params);
    throwIfAborted(signal);

    // Text guidance and vision encoder.
    const { prompt, embeds, guidance } = await this.promptInputs(params.task, params.question);
    hooks.onEvent?.({ type: 'stage', stage: 'vision' });
    const room = decoder.maxPositions - prompt.ids.length;
    if (room < 1) throw new ModelError('BadInput', `the prompt takes ${prompt.ids.length} of the model's ${decoder.maxPositions} positions`);
    config.maxNewTokens = Math.min(config.maxNewTokens, room);
    const hidden = decoder.hiddenSize;
    const vision = await this.runVision(params.pixelValues, guidance, [1, C, D, H, W]);
    embeds.set(vision.features, prompt.imageStart * hidden);
    const visionMs = performance.now() - t0;
    throwIfAborted(signal);

    // Prefill + decoding, streaming text as it becomes complete.
    hooks.onEvent?.({ type: 'stage', stage: 'prefill' });
    const streamer = new TextStreamer((ids) => this.tokenizer.decode(ids));
    let pendingIds: number[] = [];
    const out = await generate(
      this.lm,
      embeds,
      prompt.ids.length,
      config,
      {
        onPrefillLogits: hooks.onPrefillLogits,
        onToken: (id, step) => {
          if (step === 0) hooks.onEvent?.({ type: 'stage', stage: 'decode' });
          pendingIds.push(id);
          const text = streamer.push(id);
          if (text) {
            hooks.onEvent?.({ type: 'token', text, tokenIds: pendingIds });
            pendingIds = [];
          }
        },
      },
      signal,
    );
    const tail = streamer.flush();
    if (tail) hooks.onEvent?.({ type: 'token', text: tail, tokenIds: pendingIds });
    const text = this.tokenizer.decode(out.tokenIds);
    const totalMs = performance.now() - t0;
    const routing = routingData(spec, vision.groupGates, vision.routerProbs, params.geometry);
    const steps = out.tokenIds.length - 1;
    return {
      text,
      tokenIds: out.tokenIds,
      finishReason: out.finishReason,
      timings: {
        visionMs,
        prefillMs: out.prefillMs,
        decodeMs: out.decodeMs,
        totalMs,
        promptTokens: prompt.ids.length,
        newTokens: out.tokenIds.length,
        tokensPerSecond: steps > 0 && out.decodeMs > 0 ? steps / (out.decodeMs / 1000) : 0,
      },
      provider: this.provider.used,
      model: { name: this.pkg.name, version: spec.version },
      routing,
      routingSummary: summarizeRouting(routing),
      notices: runtimeNotices({ name: this.pkg.name, version: spec.version, trainedOn: spec.trainedOn }, params.stats),
    };
  }

  /** The prompt's ids, their input embeddings ([S × hidden], image positions not yet replaced) and the text
   * guidance (mean embedding over the non-image positions). */
  async promptInputs(task: GenerateParams['task'], question?: string) {
    const prompt = buildPrompt(this.tokenizer, this.pkg.spec, task, question);
    const embeds = await this.lm.embed(prompt.ids);
    const guidance = textGuidance(embeds, prompt.imageMask, this.pkg.decoder.hiddenSize);
    return { prompt, embeds, guidance };
  }

  /** The vision encoder alone. */
  async runVision(
    pixelValues: Float32Array,
    guidance: Float32Array,
    shape: number[],
  ): Promise<{ features: Float32Array; groupGates: Float32Array; routerProbs: Float32Array }> {
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.sessions.vision_encoder.run({
        pixel_values: new ort.Tensor('float32', pixelValues, shape),
        text_guidance: new ort.Tensor('float32', guidance, [1, guidance.length]),
      });
    } catch (e) {
      throw new ModelError('SessionFailed', `vision_encoder failed: ${describeError(e)}`, { cause: e });
    }
    const get = async (name: string) => {
      const t = out[name];
      if (!t) throw new ModelError('TensorMismatch', `vision_encoder returned no ${name}`);
      return (await t.getData()) as Float32Array;
    };
    const features = await get('image_features');
    const { spec, decoder } = this.pkg;
    if (features.length !== spec.numImageTokens * decoder.hiddenSize) {
      throw new ModelError('TensorMismatch', `image_features has ${features.length} values, expected ${spec.numImageTokens}×${decoder.hiddenSize}`);
    }
    const groupGates = await get('group_gates');
    const routerProbs = await get('router_probs');
    for (const [what, values] of [['image_features', features], ['group_gates', groupGates], ['router_probs', routerProbs]] as const) {
      const bad = firstNonFinite(values);
      if (bad >= 0) throw nonFiniteError('vision_encoder', what, values, bad);
    }
    // The shape check reads no geometry: a placeholder stands in until generate() knows the input's.
    const problem = routingShapeProblem(routingData(spec, groupGates, routerProbs, { canonicalDims: [1, 1, 1], canonicalAffine: [] }));
    if (problem) throw new ModelError('TensorMismatch', `vision_encoder: ${problem}`);
    return { features, groupGates, routerProbs };
  }

  async release(): Promise<void> {
    await releaseSessions(this.sessions);
  }
}

/** The encoder's routing outputs with the shape the package declares (MoE layers, groups, experts, token grid). */
function routingData(spec: PackageSpec, groupGates: Float32Array, routerProbs: Float32Array, geometry: InputGeometry): RoutingData {
  return {
    groupGates,
    routerProbs,
    layers: spec.moe.layers,
    groups: spec.moe.groups,
    experts: spec.moe.expertsPerGroup,
    topK: spec.moe.topK,
    grid: spec.patchGrid,
    groupNames: spec.moe.groupNames,
    geometry,
  };
}
