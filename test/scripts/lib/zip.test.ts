// The VSIX reader used by `npm run package` to check and smoke-test packages, against zips written by Python's
// zipfile (stored and deflated entries, nested folders, a comment) and against refusals.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { extractZip, listZip, readZipEntry } from '../../../scripts/lib/zip.mjs';

const PYTHON = process.env.CTLENS_PYTHON ?? '/usr/bin/python3';

const MAKE_ZIP = `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.comment = b"a zip comment moves the end record"
    z.writestr(zipfile.ZipInfo("extension/package.json"), b'{"name": "x"}')
    z.writestr("extension/dist/big.js", b"console.log(1);\\n" * 5000, compress_type=zipfile.ZIP_DEFLATED)
    z.writestr("extension/media/empty.bin", b"")
    z.writestr("extension/media/", b"")
`;

describe('scripts/lib/zip', function () {
  let dir: string;
  let zipPath: string;

  before(function () {
    // Python writes the reference zips; like the other Python-backed tests, skip without it unless CI requires it.
    if (!fs.existsSync(PYTHON) && process.env.CTLENS_REQUIRE_PYTHON !== '1') this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctlens-zip-'));
    zipPath = path.join(dir, 'x.zip');
    execFileSync(PYTHON, ['-c', MAKE_ZIP, zipPath]);
  });

  after(function () {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists entries with sizes and methods', function () {
    const entries = listZip(fs.readFileSync(zipPath));
    assert.deepEqual(
      entries.map((e) => [e.name, e.size, e.method]),
      [
        ['extension/package.json', 13, 0],
        ['extension/dist/big.js', 16 * 5000, 8],
        ['extension/media/empty.bin', 0, 0],
        ['extension/media/', 0, 0],
      ],
    );
    assert.ok(entries[1]!.compressedSize < entries[1]!.size / 10, 'the deflated entry is compressed');
  });

  it('reads stored and deflated entries back byte for byte', function () {
    const buf = fs.readFileSync(zipPath);
    const [pkg, big] = listZip(buf);
    assert.equal(Buffer.from(readZipEntry(buf, pkg!)).toString(), '{"name": "x"}');
    assert.equal(Buffer.from(readZipEntry(buf, big!)).toString(), 'console.log(1);\n'.repeat(5000));
  });

  it('extracts files under the destination', function () {
    const out = path.join(dir, 'out');
    extractZip(fs.readFileSync(zipPath), out);
    assert.equal(fs.readFileSync(path.join(out, 'extension/dist/big.js'), 'utf8').length, 16 * 5000);
    assert.equal(fs.statSync(path.join(out, 'extension/media/empty.bin')).size, 0);
  });

  it('refuses what is not a zip, and entries that would land outside the destination', function () {
    assert.throws(() => listZip(new Uint8Array(100)), /not a zip file/);
    const evil = path.join(dir, 'evil.zip');
    execFileSync(PYTHON, ['-c', 'import sys, zipfile\nzipfile.ZipFile(sys.argv[1], "w").writestr("../escape.txt", b"x")', evil]);
    assert.throws(() => extractZip(fs.readFileSync(evil), path.join(dir, 'evil-out')), /points outside/);
    assert.equal(fs.existsSync(path.join(dir, 'escape.txt')), false);
  });
});
