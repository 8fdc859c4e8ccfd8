// Whether onnxruntime's WebGPU provider finds an adapter here, asked in a child process.
//
// Why a child: Dawn (the WebGPU implementation inside onnxruntime-node) writes its own diagnostics straight to the
// native stderr — "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file" and a source
// location — whatever onnxruntime's logSeverityLevel says, and Node cannot redirect file descriptor 2 around one
// call. On a machine without a GPU those lines reached the user's terminal and the extension's output channel on
// every `auto` load (issue 15). The child's stderr is captured instead and condensed into the one reason the
// provider report gives; only where the child found an adapter does this process load Dawn itself (which is then
// silent: no backend fails). Cost: one Node start and one small session, ~0.3-1 s, paid only where WebGPU is tried.

import { spawn } from 'node:child_process';

export interface WebGpuProbe {
  ok: boolean;
  /** Why there is no adapter, in one line (onnxruntime's reason, then Dawn's own warnings); absent when ok. */
  reason?: string;
  ms: number;
}

export interface ProbeOptions {
  /** The runtime to start; default this process's (Electron's, run as Node, inside VS Code). */
  execPath?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

// Runs in the child: argv[1] is onnxruntime-node's entry, argv[2] a graph. Prints "ok" or the error's message as JSON.
const CHILD = `
const ort = require(process.argv[1]);
ort.InferenceSession.create(process.argv[2], { executionProviders: ['webgpu'], logSeverityLevel: 4 })
  .then((s) => s.release())
  .then(() => { process.stdout.write('ok'); process.exit(0); },
        (e) => { process.stdout.write(JSON.stringify(String((e && e.message) || e))); process.exit(3); });
`;

/** One line out of onnxruntime's error and Dawn's stderr: "No supported adapters (Dawn: Couldn't load Vulkan: …)". */
export function condenseProbeFailure(error: string, stderr: string): string {
  const firstLine = error.split('\n')[0]!.trim();
  const adapter = /Failed to get a WebGPU adapter:?\s*(.*)$/.exec(firstLine);
  const head = adapter ? `no WebGPU adapter${adapter[1] ? ` (${adapter[1].trim()})` : ''}` : firstLine.replace(/^\/\S+:\d+ \S+.*? (?=[A-Z])/, '');
  const dawn = [
    ...new Set(
      stderr
        .split('\n')
        .map((l) => l.trim())
        // Dawn prints "Warning: …" / "Error: …" followed by an "at operator() (file:line)" location line.
        .filter((l) => l.length > 0 && !l.startsWith('at '))
        .map((l) => l.replace(/^(Warning|Error|Info):\s*/, '')),
    ),
  ];
  const tail = dawn.length > 0 ? `; Dawn: ${dawn.slice(0, 3).join('; ').slice(0, 300)}` : '';
  return `${head || 'WebGPU session failed'}${tail}`;
}

/** Creates a WebGPU session on `graph` in a child process; never prints, never throws. */
export function probeWebGpu(graph: string, options: ProbeOptions = {}): Promise<WebGpuProbe> {
  const t0 = performance.now();
  let ortEntry: string;
  try {
    ortEntry = require.resolve('onnxruntime-node');
  } catch (e) {
    return Promise.resolve({ ok: false, reason: `onnxruntime-node not found: ${String(e)}`, ms: 0 });
  }
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const done = (probe: Omit<WebGpuProbe, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...probe, ms: performance.now() - t0 });
    };
    const child = spawn(options.execPath ?? process.execPath, ['-e', CHILD, ortEntry, graph], {
      env: { ...(options.env ?? process.env), ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const timeoutMs = options.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill();
      done({ ok: false, reason: `the WebGPU probe did not answer within ${timeoutMs / 1000} s` });
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => done({ ok: false, reason: `the WebGPU probe could not start: ${e.message}` }));
    child.on('close', (code, signal) => {
      if (code === 0 && stdout === 'ok') return done({ ok: true });
      let error = `the WebGPU probe exited with ${signal ?? `code ${code}`}`;
      try {
        if (stdout) error = JSON.parse(stdout) as string;
      } catch {
        /* keep the exit status */
      }
      done({ ok: false, reason: condenseProbeFailure(error, stderr) });
    });
  });
}
