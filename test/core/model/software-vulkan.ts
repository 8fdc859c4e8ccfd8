// The environment that gives onnxruntime's WebGPU provider (Dawn) an adapter on a machine without a GPU: Chromium's
// SwiftShader Vulkan ICD and the Vulkan loader Chromium ships beside it (Debian's `chromium` package has both in
// /usr/lib/chromium). Debian's own lavapipe (mesa-vulkan-drivers) is refused by Dawn: it lacks
// shaderUniform*ArrayDynamicIndexing (issue 15). The loader is found through LD_LIBRARY_PATH, which the dynamic
// linker reads when a process starts — so this environment is for a child process, not for the current one.

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { probeWebGpu } from '../../../src/core/model/webgpu-probe';
import { DEMO_PACKAGE } from './package-fixture';

const ICD_CANDIDATES = ['/usr/lib/chromium/vk_swiftshader_icd.json', '/usr/lib64/chromium/vk_swiftshader_icd.json'];

/** The SwiftShader ICD file ($CTLENS_VK_ICD or Chromium's), or null where there is none. */
export function swiftShaderIcd(): string | null {
  const env = process.env.CTLENS_VK_ICD;
  if (env) return existsSync(env) ? env : null;
  return ICD_CANDIDATES.find((f) => existsSync(f)) ?? null;
}

/** process.env plus what Dawn needs to find SwiftShader, or null without Chromium's ICD. */
export function softwareVulkanEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv | null {
  const icd = swiftShaderIcd();
  if (!icd) return null;
  const dir = dirname(icd);
  return {
    ...base,
    VK_ICD_FILENAMES: icd,
    VK_DRIVER_FILES: icd,
    LD_LIBRARY_PATH: [dir, base.LD_LIBRARY_PATH].filter(Boolean).join(':'),
    XDG_RUNTIME_DIR: base.XDG_RUNTIME_DIR ?? mkdtempSync(join(tmpdir(), 'ctlens-xdg-')),
  };
}

/** An environment where no Vulkan adapter can exist: no ICD file, no driver search path. */
export function noAdapterEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const missing = join(tmpdir(), 'ctlens-no-such-icd.json');
  return { ...base, VK_ICD_FILENAMES: missing, VK_DRIVER_FILES: missing, VK_ADD_DRIVER_FILES: '' };
}

/** The software-Vulkan environment if Dawn finds an adapter in it; otherwise why not. */
export async function webGpuEnv(): Promise<{ env: NodeJS.ProcessEnv } | { why: string }> {
  const env = softwareVulkanEnv();
  if (!env) return { why: "Chromium's SwiftShader ICD (vk_swiftshader_icd.json) not found; install Debian's chromium or set CTLENS_VK_ICD" };
  const probe = await probeWebGpu(join(DEMO_PACKAGE, 'onnx', 'embed_tokens.onnx'), { env });
  return probe.ok ? { env } : { why: `no WebGPU adapter with ${env.VK_ICD_FILENAMES}: ${probe.reason}` };
}

/**
 * The software-Vulkan environment for a WebGPU test, or the calling test skipped with the reason — a failure instead
 * under CTLENS_REQUIRE_BROWSER (CI), where a missing adapter is a broken machine, not an optional feature.
 */
export async function webGpuEnvOrSkip(test: Mocha.Context): Promise<NodeJS.ProcessEnv> {
  const got = await webGpuEnv();
  if (!('why' in got)) return got.env;
  if (process.env.CTLENS_REQUIRE_BROWSER) throw new Error(`CTLENS_REQUIRE_BROWSER is set but ${got.why}`);
  console.log(`      skipped: ${got.why}`);
  test.skip();
  throw new Error('unreachable: skip() throws');
}
