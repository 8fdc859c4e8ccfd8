// Prompts from the package's templates (config.json ctlens.prompt_templates), laid out as model/mllm.py trains
// them: the template's single image token expands to `num_image_tokens` placeholders whose embeddings are replaced
// by the projected visual tokens; every other prompt position feeds the text guidance (DESIGN 3.3: t = mean of the
// prompt's input embeddings over positions that are not image tokens).

import type { Task } from './task';
import { ModelError } from './errors';
import type { PackageSpec } from './package';
import type { PackageTokenizer } from './tokenizer';

export interface Prompt {
  text: string;
  ids: number[];
  /** true at the image-token positions (exactly numImageTokens of them, contiguous). */
  imageMask: boolean[];
  /** Index of the first image position. */
  imageStart: number;
}

export function promptText(spec: PackageSpec, task: Task, question?: string): string {
  if (task === 'report') return spec.promptTemplates.report;
  const q = (question ?? '').trim();
  if (!q) throw new ModelError('BadInput', 'a question is required for VQA');
  // A literal image token typed by the user would add image positions the model has no features for.
  if (q.includes(spec.imageToken)) throw new ModelError('BadInput', `the question must not contain ${spec.imageToken}`);
  return spec.promptTemplates.vqa.replace('{question}', q);
}

export function buildPrompt(tokenizer: PackageTokenizer, spec: PackageSpec, task: Task, question?: string): Prompt {
  const text = promptText(spec, task, question);
  const imageId = tokenizer.tokenId(spec.imageToken);
  if (imageId === undefined) {
    throw new ModelError('BadConfig', `the image token ${spec.imageToken} is not in tokenizer.json`);
  }
  const raw = tokenizer.encode(text);
  const at = raw.indexOf(imageId);
  const count = raw.filter((id) => id === imageId).length;
  let ids: number[];
  if (count === 1) {
    ids = [...raw.slice(0, at), ...new Array<number>(spec.numImageTokens).fill(imageId), ...raw.slice(at + 1)];
  } else if (count === spec.numImageTokens && raw.lastIndexOf(imageId) - at === count - 1) {
    ids = raw; // the template already spells every placeholder
  } else {
    throw new ModelError(
      'BadConfig',
      `the ${task} prompt template must hold ${spec.imageToken} once (or ${spec.numImageTokens} times in a row), found ${count}`,
    );
  }
  return { text, ids, imageMask: ids.map((id) => id === imageId), imageStart: at };
}

/** Mean of the embeddings [S × C] over the positions that are not image tokens → [C]. */
export function textGuidance(embeds: Float32Array, imageMask: readonly boolean[], hidden: number): Float32Array {
  const out = new Float64Array(hidden);
  let n = 0;
  imageMask.forEach((isImage, s) => {
    if (isImage) return;
    n++;
    for (let c = 0; c < hidden; c++) out[c] += embeds[s * hidden + c]!;
  });
  const t = new Float32Array(hidden);
  for (let c = 0; c < hidden; c++) t[c] = out[c]! / Math.max(n, 1);
  return t;
}
