// Decoding in the page (standalone use) runs on the main thread: DecompressionStream hands chunks back through
// promise jobs, so without a task boundary the page would not render a frame until the whole file had inflated and
// "the first slice paints early" would be false. This wrapper hands the event loop a turn (a new task) every
// `sliceMs` of inflating, so animation frames — and the first slice — get painted while the rest decodes.

import { webInflate, type InflateFactory } from '../../src/core/nifti/inflate';

export function yieldingInflate(base: InflateFactory = webInflate, sliceMs = 16): InflateFactory {
  return (input) => ({
    async *[Symbol.asyncIterator]() {
      let last = performance.now();
      for await (const chunk of base(input)) {
        yield chunk;
        if (performance.now() - last > sliceMs) {
          await nextTask();
          last = performance.now();
        }
      }
    },
  });
}

/** A new task without setTimeout's 4 ms clamp for nested timers: a MessageChannel message. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
