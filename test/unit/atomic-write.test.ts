import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { atomicWrite } from '../../src/core/io';

/**
 * A write replaces the file by renaming a finished temporary file over it, never by writing into
 * it: a reader (or a crash) sees the old bytes or the new, never a half-written file. Observable
 * without a crash: a handle opened on the old file still reads the old bytes afterwards, which a
 * write in place (truncate, then write) would have changed.
 */
describe('atomic writes (temp file + rename)', () => {
  const contents: [string, () => string | Uint8Array | AsyncIterable<Uint8Array>][] = [
    ['text (every .env save)', () => 'B=new\n'],
    ['bytes', () => Buffer.from('B=new\n')],
    ['a stream (whole files)', () => (async function* () { yield Buffer.from('B='); yield Buffer.from('new\n'); })()],
  ];
  for (const [kind, content] of contents) {
    it(`a ${kind} write leaves the old file whole for a reader that had it open, and the new one complete`, async () => {
      const dir = await fs.mkdtemp(path.join(tmpdir(), 'atomic-'));
      const file = path.join(dir, '.env');
      await fs.writeFile(file, 'A=old-content-that-is-longer\n', { mode: 0o640 });
      const before = await fs.open(file, 'r');
      try {
        await atomicWrite(file, content());
        const { bytesRead, buffer } = await before.read(Buffer.alloc(64), 0, 64, 0);
        assert.equal(buffer.subarray(0, bytesRead).toString(), 'A=old-content-that-is-longer\n', 'the old file was written in place');
        assert.equal(await fs.readFile(file, 'utf8'), 'B=new\n');
        assert.equal((await fs.stat(file)).mode & 0o777, 0o640, 'ciphertext keeps the file\'s permissions');
        assert.deepEqual((await fs.readdir(dir)).sort(), ['.env'], 'no temporary file left');
      } finally {
        await before.close();
        await fs.rm(dir, { recursive: true });
      }
    });
  }

  it('a mode given (a git hook: 0755) is the file\'s, whatever the old file\'s was; plaintext is 0600 whatever the mode given', async () => {
    const dir = await fs.mkdtemp(path.join(tmpdir(), 'atomic-'));
    try {
      const hook = path.join(dir, 'pre-commit');
      await fs.writeFile(hook, 'old\n', { mode: 0o600 });
      await atomicWrite(hook, '#!/bin/sh\n', { mode: 0o755 });
      assert.equal((await fs.stat(hook)).mode & 0o777, 0o755);
      await atomicWrite(path.join(dir, 'new'), 'x', { mode: 0o755 });
      assert.equal((await fs.stat(path.join(dir, 'new'))).mode & 0o777, 0o755, 'a new file too');
      await atomicWrite(hook, 'A=secret\n', { mode: 0o755, plaintext: true });
      assert.equal((await fs.stat(hook)).mode & 0o777, 0o600);
    } finally {
      await fs.rm(dir, { recursive: true });
    }
  });
});
