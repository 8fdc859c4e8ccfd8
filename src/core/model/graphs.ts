// The graphs' inputs and outputs checked against what the package config promises (DESIGN 4): first from the
// signatures the files declare (read without onnxruntime, before anything is allocated from a config number —
// issue 14), then again from onnxruntime's own metadata once sessions exist. A package whose graphs were exported
// with other names, sizes or layer counts is refused with a message naming the graph, the tensor and the
// mismatch — not discovered as a cryptic error mid-report.

import type * as ort from 'onnxruntime-node';
import { ModelError } from './errors';
import { readGraphSignature, type GraphSignature } from './onnx-signature';
import type { ModelPackage } from './package';
import type { GraphRole, SessionSet } from './sessions';

/** A graph input or output as onnxruntime's metadata or the file's own signature describe it. */
interface ValueInfo {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

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
  actual: readonly ValueInfo[],
  expected: Expected[],
): void {
  const byName = new Map(actual.map((m) => [m.name, m]));
  for (const e of expected) {
    const m = byName.get(e.name);
    if (!m) {
      const names = actual.map((a) => a.name.slice(0, 80));
      const have = names.length > 12 ? `${names.slice(0, 12).join(', ')}, … ${names.length} in all` : names.join(', ');
      throw new ModelError('TensorMismatch', `onnx/${role}.onnx has no ${side} '${e.name}' (its ${side}s: ${have})`);
    }
    const shape = m.shape;
    if (!m.isTensor || !m.type || !shape) throw new ModelError('TensorMismatch', `onnx/${role}.onnx ${side} '${e.name}' is not a tensor`);
    if (m.type !== e.type) {
      throw new ModelError('TensorMismatch', `onnx/${role}.onnx ${side} '${e.name}' is ${m.type}, expected ${e.type}`);
    }
    // An empty shape means the graph does not declare it; static dims that are known must match the config.
    if (shape.length === 0) continue;
    const bad =
      shape.length !== e.shape.length ||
      e.shape.some((want, a) => want !== null && typeof shape[a] === 'number' && shape[a] !== want);
    if (bad) {
      const want = describeShape(e.shape.map((d) => d ?? '?'));
      throw new ModelError(
        'TensorMismatch',
        `onnx/${role}.onnx ${side} '${e.name}' has shape ${describeShape(shape)}, config.json implies ${want}`,
      );
    }
  }
  const extra = side === 'input' ? actual.filter((m) => !expected.some((e) => e.name === m.name)) : [];
  if (extra.length > 0) {
    const names = extra.slice(0, 12).map((m) => m.name.slice(0, 80)).join(', ');
    throw new ModelError('TensorMismatch', `onnx/${role}.onnx has inputs this runtime does not feed: ${names}${extra.length > 12 ? ', …' : ''}`);
  }
}

/**
 * The embedding table's rows against config.json's vocab_size: the embed_tokens graph holds one [rows, hidden]
 * weight (a lookup table); a package whose vocabulary and table disagree would embed ids past the table's end or
 * never use its last rows. Graphs that keep the table in another form (quantised, external) have no such
 * initializer and are left to the logits check.
 */
function checkEmbeddingRows(pkg: ModelPackage, sig: GraphSignature): void {
  const { hiddenSize, vocabSize } = pkg.decoder;
  const tables = [...sig.initializers.values()].filter((d) => d.length === 2 && d[1] === hiddenSize);
  if (tables.length === 0 || tables.some((d) => d[0] === vocabSize)) return;
  const rows = Math.max(...tables.map((d) => d[0]!));
  throw new ModelError('TensorMismatch', `onnx/embed_tokens.onnx embeds ${rows} tokens, config.json says vocab_size ${vocabSize}`);
}

/**
 * A learned position table ([rows, hidden], named *position*) shorter than max_position_embeddings: positions past
 * its end would index outside it mid-generation. Rotary decoders have no such table and pass.
 */
function checkPositionRows(pkg: ModelPackage, sig: GraphSignature): void {
  const { hiddenSize, maxPositions } = pkg.decoder;
  for (const [name, d] of sig.initializers) {
    if (d.length === 2 && d[1] === hiddenSize && /position/i.test(name) && d[0]! < maxPositions) {
      throw new ModelError(
        'TensorMismatch',
        `onnx/decoder_model_merged.onnx has ${d[0]} learned positions (${name.slice(0, 80)}), config.json says max_position_embeddings ${maxPositions}`,
      );
    }
  }
}

/**
 * Reads each graph file's declared signature (no weights, no onnxruntime) and checks it against the package: a
 * file that is not a valid ONNX model is CorruptModel, a mismatch TensorMismatch — both naming the file.
 */
export async function checkGraphSignatures(pkg: ModelPackage, maxBytes: number): Promise<void> {
  const expected = expectedGraphs(pkg);
  for (const role of Object.keys(expected) as GraphRole[]) {
    const sig = await readGraphSignature(pkg.graphs[role], `onnx/${role}.onnx`, maxBytes);
    checkValues(role, 'input', sig.inputs, expected[role].inputs);
    checkValues(role, 'output', sig.outputs, expected[role].outputs);
    if (role === 'embed_tokens') checkEmbeddingRows(pkg, sig);
    if (role === 'decoder_model_merged') checkPositionRows(pkg, sig);
  }
}

export function checkGraphs(pkg: ModelPackage, sessions: SessionSet): void {
  const expected = expectedGraphs(pkg);
  for (const role of Object.keys(expected) as GraphRole[]) {
    checkValues(role, 'input', sessions[role].inputMetadata, expected[role].inputs);
    checkValues(role, 'output', sessions[role].outputMetadata, expected[role].outputs);
  }
}
