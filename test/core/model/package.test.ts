import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_FILES, readModelPackage } from '../../../src/core/model/package';

/** A package folder with valid JSON files and empty graph files (readModelPackage does not open the graphs). */
function fakePackage(edit: (files: Record<string, unknown>) => void = () => {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctlens-pkg-'));
  mkdirSync(join(dir, 'onnx'));
  const files: Record<string, unknown> = {
    'config.json': {
      llm: { vocab_size: 100, dim: 32, layers: 2, heads: 4, max_positions: 256 },
      ctlens: {
        version: '1.0',
        input_size: [16, 64, 64],
        hu_windows: [[-600, 1500], [40, 400], [400, 1800]],
        mean: [0.5, 0.5, 0.5],
        std: [0.25, 0.25, 0.25],
        orientation: 'RAS',
        patch_grid: [16, 8, 8],
        pooling: [2, 2, 2],
        moe: { layers: [4, 5], groups: 2, group_names: ['report', 'vqa'], experts_per_group: 4, top_k: 2 },
        prompt_templates: { report: '<bos> <image> describe . <answer>', vqa: '<bos> <image> {question} <answer>' },
        image_token: '<image>',
        num_image_tokens: 128,
      },
    },
    'generation_config.json': { max_new_tokens: 64, eos_token_id: 2, do_sample: false },
    'tokenizer.json': { model: { type: 'WordLevel', vocab: {} } },
    'tokenizer_config.json': {},
  };
  edit(files);
  for (const f of PACKAGE_FILES) {
    const v = files[f];
    writeFileSync(join(dir, f), v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  }
  return dir;
}

/** The JSON rules alone: these packages' graph files are empty (graph checks are tested with real graphs). */
const readJsonOnly = (dir: string) => readModelPackage(dir, { checkGraphs: false });

const ctlens = (files: Record<string, unknown>) => (files['config.json'] as { ctlens: Record<string, unknown> }).ctlens;

describe('core/model/package', () => {
  const made: string[] = [];
  const pkg = (edit?: (files: Record<string, unknown>) => void) => {
    const d = fakePackage(edit);
    made.push(d);
    return d;
  };
  after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('reads the ctlens block, decoder sizes and generation defaults', async () => {
    const p = await readJsonOnly(pkg());
    assert.deepEqual(p.spec.preprocess.inputSize, [16, 64, 64]);
    assert.deepEqual(p.spec.preprocess.windows[1], { center: 40, width: 400 });
    assert.deepEqual(p.spec.moe.groupNames, ['report', 'vqa']);
    assert.equal(p.spec.textGuidanceDim, 32);
    assert.deepEqual(p.decoder, { layers: 2, heads: 4, headDim: 8, hiddenSize: 32, vocabSize: 100, maxPositions: 256 });
    assert.deepEqual(p.generation.eosTokenIds, [2]);
    assert.equal(p.generation.repetitionPenalty, 1);
    assert.match(p.graphs.decoder_model_merged, /onnx\/decoder_model_merged\.onnx$/);
  });

  it('accepts windows written as objects', async () => {
    const p = await readJsonOnly(pkg((f) => {
      ctlens(f).hu_windows = [{ name: 'lung', level: -600, width: 1500 }, { center: 40, width: 400 }, { level: 400, width: 1800 }];
    }));
    assert.deepEqual(p.spec.preprocess.windows.map((w) => w.center), [-600, 40, 400]);
  });

  it('refuses a missing folder or file by name', async () => {
    await assert.rejects(readJsonOnly('/nonexistent/pkg'), /^ModelError: MissingFile: model package folder \/nonexistent\/pkg does not exist/);
    const d = pkg();
    unlinkSync(join(d, 'onnx/decoder_model_merged.onnx'));
    await assert.rejects(readJsonOnly(d), /MissingFile: onnx\/decoder_model_merged\.onnx is missing from the model package/);
  });

  it('refuses an unknown ctlens.version', async () => {
    await assert.rejects(
      readJsonOnly(pkg((f) => (ctlens(f).version = '3.0'))),
      /^ModelError: VersionMismatch: config\.json: ctlens\.version is "3\.0", this CT Lens understands major version 1, 2/,
    );
  });

  it('names the field at fault', async () => {
    await assert.rejects(readJsonOnly(pkg((f) => (f['config.json'] = '{nope'))), /BadConfig: config\.json is not a valid JSON object/);
    await assert.rejects(readJsonOnly(pkg((f) => delete ctlens(f).patch_grid)), /BadConfig: config\.json: ctlens\.patch_grid must be 3 integers in 1\.\.4096 \(missing\)/);
    await assert.rejects(readJsonOnly(pkg((f) => (ctlens(f).mean = [0.5]))), /BadConfig: config\.json: ctlens\.mean must be 3 numbers/);
    await assert.rejects(readJsonOnly(pkg((f) => (ctlens(f).patch_grid = [16, 7, 8]))), /input_size 16×64×64 is not a multiple of patch_grid 16×7×8/);
    await assert.rejects(
      readJsonOnly(pkg((f) => ((ctlens(f).prompt_templates as Record<string, string>).vqa = 'no slot'))),
      /prompt_templates\.vqa must contain \{question\}/,
    );
    await assert.rejects(
      readJsonOnly(pkg((f) => (f['generation_config.json'] = { eos_token_id: 500 }))),
      /eos_token_id 500 is outside the vocabulary of 100/,
    );
    await assert.rejects(readJsonOnly(pkg((f) => (ctlens(f).orientation = 'LPS'))), /ctlens\.orientation must be "RAS"/);
  });
});
