// The model host's runtime backend: `auto` without a WebGPU adapter logs the one line saying why (it reaches the
// extension's output channel through the host's stderr) and nothing else; an explicit provider logs nothing.

import assert from 'node:assert/strict';
import { createRuntimeBackend } from '../../src/modelhost/backend';
import { DEMO_PACKAGE } from '../core/model/package-fixture';
import { noAdapterEnv } from '../core/model/software-vulkan';

describe('modelhost/backend', function () {
  this.timeout(120_000);
  const saved = { ...process.env };
  before(() => Object.assign(process.env, noAdapterEnv({})));
  after(() => {
    for (const k of ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'VK_ADD_DRIVER_FILES']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('auto without an adapter: one log line saying why, per load', async () => {
    const lines: string[] = [];
    const backend = createRuntimeBackend((l) => lines.push(l));
    try {
      const r = await backend.load({ packageDir: DEMO_PACKAGE, executionProvider: 'auto', threads: 1 }, new AbortController().signal);
      assert.equal(r.provider.used, 'cpu');
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, /^running on cpu: .*webgpu: no WebGPU adapter/);
      assert.doesNotMatch(lines[0]!, /\n/);
      await backend.load({ packageDir: DEMO_PACKAGE, executionProvider: 'auto', threads: 1 }, new AbortController().signal); // reused
      assert.equal(lines.length, 1);
      await backend.load({ packageDir: DEMO_PACKAGE, executionProvider: 'cpu', threads: 1 }, new AbortController().signal);
      assert.equal(lines.length, 1, 'an explicit provider that works has nothing to explain');
    } finally {
      await backend.unload();
    }
  });
});
