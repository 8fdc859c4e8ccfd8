// Mocha root hooks for the end-to-end suite: whatever a spec started in the shared code-server is stopped once all
// specs are done, pass or fail (harness.ts also kills it if the process exits early).
import { stopSharedServer } from './harness';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopSharedServer();
  },
};
