// The bundled demo package and a phantom input for the runtime tests. The package is part of the repository
// (media/models/ctlens-tghmoe-demo), so tests that need it fail — not skip — when it is missing.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeNifti } from '../../../src/core/nifti';
import { nodeInflate } from '../../../src/core/nifti/inflate-node';
import { preprocessVolume, type PreprocessedInput } from '../../../src/core/model/preprocess';
import { readModelPackage } from '../../../src/core/model/package';

// CTLENS_REPO: where the checkout is when this runs bundled (bench/gpu-parity.ts as dist/gpu-parity.js).
export const REPO = process.env.CTLENS_REPO ?? join(__dirname, '..', '..', '..');
export const DEMO_PACKAGE = join(REPO, 'media', 'models', 'ctlens-tghmoe-demo');
export const PHANTOMS = join(REPO, 'test', 'fixtures', 'phantoms');
export const HEAD_CT = join(REPO, 'media', 'samples', 'head_ct_invesalius.nii.gz');

const inputs = new Map<string, PreprocessedInput>();

/** The model input of a NIfTI file under the demo package's preprocessing (cached per file). */
export async function modelInput(file: string = join(PHANTOMS, 'fixture-00.nii.gz')): Promise<PreprocessedInput> {
  const hit = inputs.get(file);
  if (hit) return hit;
  const pkg = await readModelPackage(DEMO_PACKAGE);
  const vol = await decodeNifti(new Uint8Array(readFileSync(file)), { inflate: nodeInflate });
  const input = preprocessVolume(vol, pkg.spec.preprocess);
  inputs.set(file, input);
  return input;
}
