// Entry of the model host child process (bundled to dist/modelhost.js). It owns the onnxruntime sessions so that
// inference — native code that blocks its thread for each run — never blocks the extension host, and so that a
// crash in native code takes down only this process; the client (src/modelhost/client.ts) restarts it.

import { ModelHost } from './host';
import { createRuntimeBackend } from './backend';
import type { HostToParent } from '../shared/modelhost-protocol';

function send(message: HostToParent): void {
  // A closed channel means the parent is gone; there is nobody left to answer.
  if (process.connected) process.send!(message);
}

if (!process.send) {
  process.stderr.write('ctlens model host: must be started with an IPC channel (child_process.fork)\n');
  process.exit(2);
}

const host = new ModelHost(createRuntimeBackend(), send);
process.on('message', (m) => host.receive(m));
// No orphans: when the parent exits or closes the channel, so does the host.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', pid: process.pid });
