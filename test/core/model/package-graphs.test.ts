// A model package as untrusted input (issue 14): config.json against the graphs' own declared signatures, read
// before anything is allocated; damaged graph files named as such; non-finite outputs stopping a run. Each case
// copies whatever package is bundled and derives its edit from that package's own numbers and files.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CtLensModel } from '../../../src/core/model/model';
import { readGraphSignature } from '../../../src/core/model/onnx-signature';
import { PACKAGE_LIMITS, readModelPackage } from '../../../src/core/model/package';
import { createSessions, type GraphRole } from '../../../src/core/model/sessions';
import * as report from '../../../src/cli/commands/report';
import { runIn } from '../../cli/model-cli';
import { DEMO_PACKAGE, modelInput } from './package-fixture';

const GRAPH_ROLES: GraphRole[] = ['vision_encoder', 'embed_tokens', 'decoder_model_merged'];
const PHANTOM = 'test/fixtures/phantoms/fixture-00.nii.gz';

describe('core/model package checked against its graphs', function () {
  this.timeout(60000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctlens-graphs-'));
    cpSync(DEMO_PACKAGE, dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const config = () => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const editConfig = (edit: (c: Record<string, any>) => void) => {
    const c = config();
    edit(c);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(c));
  };
  /** Overwrites the largest inline weight of a graph with 0xFF bytes (NaN as float32). */
  const poisonLargestWeight = async (role: GraphRole) => {
    const file = join(dir, `onnx/${role}.onnx`);
    const sig = await readGraphSignature(file, role, PACKAGE_LIMITS.graphBytes);
    const [offset, length] = [...sig.weightData.values()].sort((a, b) => b[1] - a[1])[0]!;
    const bytes = readFileSync(file);
    bytes.fill(0xff, offset, offset + length);
    writeFileSync(file, bytes);
  };

  it('reads the bundled package: its declared graph signatures agree with its config', async () => {
    const pkg = await readModelPackage(dir);
    const sig = await readGraphSignature(pkg.graphs.vision_encoder, 'vision_encoder', PACKAGE_LIMITS.graphBytes);
    const pixels = sig.inputs.find((v) => v.name === 'pixel_values')!;
    assert.deepEqual(pixels.shape.slice(1), [pkg.spec.preprocess.windows.length, ...pkg.spec.preprocess.inputSize]);
    assert.equal(pixels.type, 'float32');
  });

  it('an absurd input_size is refused from the config alone, before any allocation (was RangeError: Invalid typed array length)', async () => {
    editConfig((c) => (c.ctlens.input_size = [3000, 1000000, 1000000]));
    await assert.rejects(readModelPackage(dir), /^ModelError: BadConfig: config\.json: ctlens\.input_size must be 3 integers in 1\.\.4096 \(got \[3000,1000000,1000000\]\)/);
    editConfig((c) => (c.ctlens.input_size = [4096, 4096, 4096]));
    await assert.rejects(readModelPackage(dir), /BadConfig: config\.json: ctlens\.input_size 4096×4096×4096 × \d+ channels is \d+ values, above the limit of 134217728/);
  });

  it('an input_size the encoder graph does not declare is a TensorMismatch naming pixel_values', async () => {
    editConfig((c) => (c.ctlens.input_size = [c.ctlens.input_size[0] * 2, c.ctlens.input_size[1], c.ctlens.input_size[2]]));
    await assert.rejects(
      readModelPackage(dir),
      /^ModelError: TensorMismatch: onnx\/vision_encoder\.onnx input 'pixel_values' has shape \[\w+, \d+, \d+, \d+, \d+\], config\.json implies \[\?, \d+, \d+, \d+, \d+\]/,
    );
  });

  it('a vocabulary that differs from the embedding table is refused, naming both numbers', async () => {
    const vocab = (await readModelPackage(dir)).decoder.vocabSize;
    editConfig((c) => {
      if (c.llm) c.llm.vocab_size = vocab + 7;
      c.vocab_size = vocab + 7;
    });
    await assert.rejects(readModelPackage(dir), new RegExp(`^ModelError: TensorMismatch: onnx/embed_tokens\\.onnx embeds ${vocab} tokens, config\\.json says vocab_size ${vocab + 7}`));
  });

  it('KV heads and head size are checked against the decoder past_key_values inputs', async () => {
    editConfig((c) => (c.head_dim = c.head_dim ? c.head_dim + 1 : 7));
    await assert.rejects(readModelPackage(dir), /^ModelError: TensorMismatch: onnx\/decoder_model_merged\.onnx input 'past_key_values\.0\.key' has shape/);
  });

  it('an image token count that the encoder does not output is refused at load (the count is symbolic in the file)', async () => {
    editConfig((c) => (c.ctlens.num_image_tokens += 1));
    await assert.rejects(
      CtLensModel.load(dir, { executionProvider: 'cpu', threads: 1 }),
      /^ModelError: TensorMismatch: (onnx\/vision_encoder\.onnx output 'image_features' has shape|image_features has \d+ values, expected \d+×\d+)/,
    );
  });

  for (const role of GRAPH_ROLES) {
    it(`a truncated or overwritten onnx/${role}.onnx is CorruptModel naming the file, read without onnxruntime`, async () => {
      const file = join(dir, `onnx/${role}.onnx`);
      const original = readFileSync(file);
      for (const keep of [0.5, 0.999]) {
        writeFileSync(file, original.subarray(0, Math.floor(original.length * keep)));
        await assert.rejects(readModelPackage(dir), new RegExp(`^ModelError: CorruptModel: onnx/${role}\\.onnx (is empty|is not a valid ONNX model: it )`));
      }
      writeFileSync(file, Buffer.from('this is not a protobuf at all, just text that a user saved by mistake'));
      await assert.rejects(readModelPackage(dir), new RegExp(`^ModelError: CorruptModel: onnx/${role}\\.onnx is not a valid ONNX model`));
      writeFileSync(file, Buffer.alloc(0));
      await assert.rejects(readModelPackage(dir), new RegExp(`^ModelError: CorruptModel: onnx/${role}\\.onnx is empty`));
    });
  }

  it('a graph onnxruntime cannot build on the CPU is CorruptModel naming the file, not ProviderUnavailable', async () => {
    const paths = Object.fromEntries(GRAPH_ROLES.map((r) => [r, `/pkg/onnx/${r}.onnx`])) as Record<GraphRole, string>;
    const create = async (path: string) => {
      if (path.includes('decoder')) throw new Error('Load model from /pkg/onnx/decoder_model_merged.onnx failed:Node (/MatMul) Op (MatMul) [ShapeInferenceError] Incompatible dimensions');
      return { release: async () => undefined } as never;
    };
    await assert.rejects(
      createSessions(paths, 'cpu', { create }),
      /^ModelError: CorruptModel: onnx\/decoder_model_merged\.onnx \(decoder_model_merged\) cannot be loaded by onnxruntime: Load model from/,
    );
    // The same refusal from a GPU provider names the file too; a GPU provider's own failure stays a provider problem.
    await assert.rejects(createSessions(paths, 'webgpu', { create }), /^ModelError: CorruptModel: onnx\/decoder_model_merged\.onnx/);
  });

  it('NaN weights in the vision encoder stop the load with NonFiniteOutput (the warm-up run checks its outputs)', async () => {
    await poisonLargestWeight('vision_encoder');
    await assert.rejects(
      CtLensModel.load(dir, { executionProvider: 'cpu', threads: 1 }),
      /^ModelError: NonFiniteOutput: onnx\/vision_encoder\.onnx produced NaN in (image_features|group_gates|router_probs)/,
    );
  });

  it('NaN weights in the decoder stop a report with NonFiniteOutput, never an empty report with exit 0', async () => {
    await poisonLargestWeight('decoder_model_merged');
    const model = await CtLensModel.load(dir, { executionProvider: 'cpu', threads: 1 });
    const input = await modelInput();
    const tokens: string[] = [];
    try {
      await assert.rejects(
        model.generate(
          { task: 'report', pixelValues: input.pixelValues, geometry: input.geometry, stats: input.stats, options: { maxNewTokens: 8 } },
          { onEvent: (e) => e.type === 'token' && tokens.push(e.text) },
        ),
        /^ModelError: NonFiniteOutput: onnx\/decoder_model_merged\.onnx produced NaN in the logits at position \d+/,
      );
      assert.deepEqual(tokens, [], 'no text streamed from NaN logits');
    } finally {
      await model.release();
    }
    const r = await runIn(report, [PHANTOM, '--model', dir, '--ep', 'cpu', '--max-tokens', '8']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^ctlens report: NonFiniteOutput: onnx\/decoder_model_merged\.onnx produced NaN in the logits at position \d+ \(value \d+ of \d+\); its weights are likely damaged, so the run was stopped\n$/);
  });

  it('NaN in the embedding table is refused at load', async () => {
    await poisonLargestWeight('embed_tokens');
    await assert.rejects(CtLensModel.load(dir, { executionProvider: 'cpu', threads: 1 }), /^ModelError: NonFiniteOutput: onnx\/embed_tokens\.onnx produced NaN in the embedding table/);
  });

  it('sizes are bounded before reading: an oversized config.json is refused from its size', async () => {
    const text = readFileSync(join(dir, 'config.json'), 'utf8');
    writeFileSync(join(dir, 'config.json'), text.replace(/}\s*$/, `${' '.repeat(PACKAGE_LIMITS.jsonBytes)}}`));
    await assert.rejects(readModelPackage(dir), /^ModelError: BadConfig: config\.json is \d+ bytes, above the 4194304-byte limit for this file/);
  });

  it('a tokenizer.json whose vocabulary maps a word to something other than an id is refused before the tokenizer is built', async () => {
    const file = join(dir, 'tokenizer.json');
    const t = JSON.parse(readFileSync(file, 'utf8'));
    // An ordinary word (special tokens keep their ids from added_tokens whatever the vocabulary says).
    const word = Object.keys(t.model.vocab).find((w) => /^\W?[a-z]{4,}$/.test(w))!;
    t.model.vocab[word] = '{question}';
    writeFileSync(file, JSON.stringify(t));
    await assert.rejects(readModelPackage(dir), new RegExp(`^ModelError: BadConfig: tokenizer\\.json: it maps "${word}" to "\\{question\\}", not a token id below vocab_size \\d+`));
    // An id the tokenizer library would loop on (seen in the fuzz): refused before the library sees it.
    t.model.vocab[word] = [3e15, 1, 1];
    writeFileSync(file, JSON.stringify(t));
    await assert.rejects(readModelPackage(dir), /^ModelError: BadConfig: tokenizer\.json: it maps .* to \[3000000000000000,1,1\]/);
  });

  it('added tokens with flags that are not booleans are refused before the tokenizer is built (they hung it)', async () => {
    const file = join(dir, 'tokenizer_config.json');
    const c = JSON.parse(readFileSync(file, 'utf8'));
    const id = Object.keys(c.added_tokens_decoder)[0]!;
    c.added_tokens_decoder[id].single_word = [1, 1, 1];
    writeFileSync(file, JSON.stringify(c));
    await assert.rejects(
      readModelPackage(dir),
      new RegExp(`^ModelError: BadConfig: tokenizer_config\\.json: added_tokens_decoder\\.${id} has single_word \\[1,1,1\\], not true or false`),
    );
    const tfile = join(dir, 'tokenizer.json');
    const t = JSON.parse(readFileSync(tfile, 'utf8'));
    t.added_tokens[0].rstrip = '{question}';
    writeFileSync(tfile, JSON.stringify(t));
    await assert.rejects(readModelPackage(dir), /^ModelError: BadConfig: tokenizer\.json: its added token .* has rstrip "\{question\}", not true or false/);
  });

  it('a user error from the CLI is one line with no stack', async () => {
    editConfig((c) => (c.ctlens.input_size = [3e15, 1, 1]));
    const r = await runIn(report, [PHANTOM, '--model', dir, '--ep', 'cpu']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^ctlens report: BadConfig: config\.json: ctlens\.input_size must be 3 integers in 1\.\.4096 \(got \[3000000000000000,1,1\]\)\n$/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.ok(!(r.stderr.includes('RangeError')));
  });
});
