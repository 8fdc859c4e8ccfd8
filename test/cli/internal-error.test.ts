// An unexpected error in the CLI (issue 14): one line for the user, the stack in a log file (or on stderr only when
// CTLENS_DEBUG asks for it).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportInternalError } from '../../src/cli/internal-error';

describe('cli/internal-error', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ctlens-err-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('prints one line naming the error and the log file; the stack is in the file, not on the screen', () => {
    let err = '';
    const file = reportInternalError(new RangeError('Invalid typed array length: 3000000000000000'), {
      stderr: (t) => (err += t),
      env: {},
      logDir: dir,
      pid: 42,
    });
    assert.equal(file, join(dir, 'ctlens-error-42.log'));
    assert.equal(err, `ctlens: internal error: RangeError: Invalid typed array length: 3000000000000000\n(this is a bug in CT Lens; the details are in ${file})\n`);
    assert.match(readFileSync(file!, 'utf8'), /RangeError: Invalid typed array length: 3000000000000000\n\s+at /);
  });

  it('CTLENS_DEBUG puts the stack on stderr instead', () => {
    let err = '';
    assert.equal(reportInternalError(new TypeError('x is undefined'), { stderr: (t) => (err += t), env: { CTLENS_DEBUG: '1' }, logDir: dir }), null);
    assert.match(err, /^ctlens: internal error: TypeError: x is undefined\nTypeError: x is undefined\n\s+at /);
  });

  it('a log folder that cannot be written still leaves the stack somewhere', () => {
    let err = '';
    assert.equal(reportInternalError(new Error('boom'), { stderr: (t) => (err += t), env: {}, logDir: join(dir, 'missing', 'deeper') }), null);
    assert.match(err, /^ctlens: internal error: Error: boom\nError: boom\n\s+at /);
  });
});
