// Mocha root hooks for the end-to-end suite: a failing test leaves a screenshot of every open session, and whatever a
// spec started in the shared code-servers is stopped once all specs are done, pass or fail (harness.ts also kills it
// if the process exits early).
import { screenshotOpenSessions, stopSharedServers } from './harness';

export const mochaHooks = {
  async afterEach(this: Mocha.Context) {
    if (this.currentTest?.state === 'failed') await screenshotOpenSessions(this.currentTest.title);
  },

  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopSharedServers();
  },
};
