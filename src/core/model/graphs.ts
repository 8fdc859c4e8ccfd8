// The graphs' inputs and outputs checked against what the package config promises (DESIGN 4), right after the
// sessions are created: a package whose graphs were exported with other names, sizes or layer counts is refused
// with a message naming the graph, the tensor and the mismatch — not discovered as a cryptic error mid-report.

import type * as ort from 'onnxruntime-node';
import { ModelError } from './errors';
import type { ModelPackage } from './package';
import type { GraphRole, SessionSet } from './sessions';

/** An expected dimension: a number must match exactly; null accepts anything (batch, sequence, past length). */
type Dim = number | null;

interface Expected {
  name: string;
  type: ort.Tensor.Type;
  shape: Dim[];
}

export function expectedGraphs(pkg: ModelPackage): Record<GraphRole, { inputs: Expected[]; outputs: Expected[] }> {
  const { spec, decoder } = pkg;
  const [D, H, W] = spec.preprocess.inputSize;
  const C = spec.preprocess.windows.length;
  const K = spec.moe.layers.length;
  const G = spec.moe.groups;
  const E = spec.moe.expertsPerGroup;
  const nVis = spec.patchGrid[0] * spec.patchGrid[1] * spec.patchGrid[2];
  const kv = (prefix: string) =>
    Array.from({ length: decoder.layers }, (_, i) =>
      ['key', 'value'].map((x): Expected => ({ name: `${prefix}.${i}.${x}`, type: 'float32', shape: [null, decoder.heads, null, decoder.headDim] })),
    ).flat();
  return {
    vision_encoder: {
      inputs: [
        { name: 'pixel_values', type: 'float32', shape: [null, C, D, H, W] },
        { name: 'text_guidance', type: 'float32', shape: [null, spec.textGuidanceDim] },
      ],
      outputs: [
        { name: 'image_features', type: 'float32', shape: [null, spec.numImageTokens, decoder.hiddenSize] },
        { name: 'group_gates', type: 'float32', shape: [null, K, G] },
        { name: 'router_probs', type: 'float32', shape: [null, K, nVis, G, E] },
      ],
    },
    embed_tokens: {
      inputs: [{ name: 'input_ids', type: 'int64', shape: [null, null] }],
      outputs: [{ name: 'inputs_embeds', type: 'float32', shape: [null, null, decoder.hiddenSize] }],
    },
    decoder_model_merged: {
      inputs: [
        { name: 'inputs_embeds', type: 'float32', shape: [null, null, decoder.hiddenSize] },
        { name: 'attention_mask', type: 'int64', shape: [null, null] },
        { name: 'position_ids', type: 'int64', shape: [null, null] },
        ...kv('past_key_values'),
      ],
      outputs: [{ name: 'logits', type: 'float32', shape: [null, null, decoder.vocabSize] }, ...kv('present')],
    },
  };
}

function describeShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

function checkValues(
  role: GraphRole,
  side: 'input' | 'output',
  actual: readonly ort.InferenceSession.ValueMetadata[],
  expected: Expected[],
): void {
  const byName = new Map(actual.map((m) => [m.name, m]));
  for (const e of expected) {
    const m = byName.get(e.name);
    if (!m) {
      const have = actual.map((a) => a.name).join(', ');
      throw new ModelError('TensorMismatch', `onnx/${role}.onnx has no ${side} '${e.name}' (its ${side}s: ${have})`);
    }
    if (!m.isTensor) throw new ModelError('TensorMismatch', `onnx/${role}.onnx ${side} '${e.name}' is not a tensor`);
    if (m.type !== e.type) {
      throw new ModelError('TensorMismatch', `onnx/${role}.onnx ${side} '${e.name}' is ${m.type}, expected ${e.type}`);
    }
    // An empty shape means onnxruntime does not know it; static dims that are known must match the config.
    if (m.shape.length === 0) continue;
    const bad =
      m.shape.length !== e.shape.length ||
      e.shape.some((want, a) => want !== null && typeof m.shape[a] === 'number' && m.shape[a] !== want);
    if (bad) {
      const want = describeShape(e.shape.map((d) => d ?? '?'));
      throw new ModelError(
        'TensorMismatch',
        `onnx/${role}.onnx ${side} '${e.name}' has shape ${describeShape(m.shape)}, config.json implies ${want}`,
      );
    }
  }
  const extra = side === 'input' ? actual.filter((m) => !expected.some((e) => e.name === m.name)) : [];
  if (extra.length > 0) {
    throw new ModelError('TensorMismatch', `onnx/${role}.onnx has inputs this runtime does not feed: ${extra.map((m) => m.name).join(', ')}`);
  }
}

export function checkGraphs(pkg: ModelPackage, sessions: SessionSet): void {
  const expected = expectedGraphs(pkg);
  for (const role of Object.keys(expected) as GraphRole[]) {
    checkValues(role, 'input', sessions[role].inputMetadata, expected[role].inputs);
    checkValues(role, 'output', sessions[role].outputMetadata, expected[role].outputs);
  }
}
