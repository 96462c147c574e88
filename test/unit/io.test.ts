import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { atomicWrite, decodeUtf8, hasSidecar, MAX_SIDECAR_BYTES, readBounded, readEnds, readHead, readPieces, readSidecar, removeStaleTemps } from '../../src/core/io';
import { kindOf } from '../../src/core/kind';
import { KmsEnvelopeError } from '../../src/core/errors';
import { refusedAs } from '../support/errors';
import { collectChildCoverage, mutantEnv } from '../support/mutants';

/**
 * The reads a hostile repository can aim at (design §7), one by one and in process: a file the
 * repository planted is read only when it is a regular file within its size limit, never through
 * a symlink; and the writer's clean-up of a killed writer's temporary files (issue 12).
 */
describe('file reads a repository can plant, and temporary files (io.ts)', () => {
  let dir: string;
  const at = (name: string) => path.join(dir, name);
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), 'kms-envelope-io-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  describe('readBounded', () => {
    it('reads a regular file up to its limit exactly, and refuses one byte more before reading it', async () => {
      await fs.writeFile(at('a'), 'x'.repeat(100));
      assert.equal((await readBounded(at('a'), 100)).toString(), 'x'.repeat(100));
      await assert.rejects(readBounded(at('a'), 99), refusedAs('FORMAT', `${at('a')} is larger than 99 bytes, the limit for this kind of file`));
      await fs.writeFile(at('big'), Buffer.alloc(2 * 1024 * 1024 + 1));
      await assert.rejects(readBounded(at('big'), 2 * 1024 * 1024), refusedAs('FORMAT', `${at('big')} is larger than 2 MiB, the limit for this kind of file`));
      await assert.rejects(readBounded(at('big'), 1024 * 1024), refusedAs('FORMAT', `${at('big')} is larger than 1 MiB, the limit for this kind of file`));
    });

    it('reads an empty file as empty', async () => {
      await fs.writeFile(at('empty'), '');
      assert.equal((await readBounded(at('empty'), 10)).length, 0);
    });

    it('refuses a symlink (naming what to do) and anything that is not a regular file', async () => {
      await fs.writeFile(at('target'), 'A=1\n');
      await fs.symlink(at('target'), at('link'));
      await assert.rejects(readBounded(at('link'), 100), refusedAs('USAGE', `${at('link')} is a symlink; name the file it points to`));
      await fs.mkdir(at('folder'));
      await assert.rejects(readBounded(at('folder'), 100), refusedAs('USAGE', `${at('folder')} is not a regular file`));
      const fifo = spawnSync('mkfifo', [at('fifo')]);
      assert.equal(fifo.status, 0, 'mkfifo');
      await assert.rejects(readBounded(at('fifo'), 100), refusedAs('USAGE', `${at('fifo')} is not a regular file`));
    });

    it('a missing file is the system error, not ours', async () => {
      await assert.rejects(readBounded(at('none'), 100), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    });
  });

  describe('readSidecar', () => {
    it('reads a sidecar of any size up to a header’s limit; none is undefined, even under a file that is not a folder', async () => {
      await fs.writeFile(at('app.json'), '{}');
      assert.equal(await readSidecar(at('app.json')), undefined);
      assert.equal(await readSidecar(path.join(at('app.json'), 'x.json')), undefined, 'ENOTDIR is "no sidecar"');
      await fs.writeFile(at('app.json.kms-envelope'), 'h'.repeat(MAX_SIDECAR_BYTES));
      assert.equal(await readSidecar(at('app.json')), 'h'.repeat(MAX_SIDECAR_BYTES));
    });

    it('refuses a sidecar larger than any header, a symlink (to /dev/zero) and a folder', async () => {
      await fs.writeFile(at('app.json.kms-envelope'), 'h'.repeat(MAX_SIDECAR_BYTES + 1));
      await assert.rejects(readSidecar(at('app.json')), refusedAs('FORMAT', `${at('app.json.kms-envelope')} is larger than any kms-envelope header`));
      await assert.rejects(readSidecar(at('app.json')), (e: KmsEnvelopeError) => e.hint === 'Restore it from version control.');
      await fs.rm(at('app.json.kms-envelope'));
      await fs.symlink('/dev/zero', at('app.json.kms-envelope'));
      const planted = `${at('app.json.kms-envelope')} is not a regular file (a symlink or device); refusing to read it`;
      await assert.rejects(readSidecar(at('app.json')), refusedAs('FORMAT', planted));
      await assert.rejects(readSidecar(at('app.json')), (e: KmsEnvelopeError) => e.hint === 'A sidecar is a small text file next to its file; restore it from version control.');
      await fs.rm(at('app.json.kms-envelope'));
      await fs.mkdir(at('app.json.kms-envelope'));
      await assert.rejects(readSidecar(at('app.json')), refusedAs('FORMAT', planted));
    });

    it('refuses a sidecar that is a symlink to a regular file (a header kept outside the repository), as FORMAT (mutation audit M08)', async () => {
      await fs.writeFile(at('outside-header'), '# kms-envelope v1 text\n');
      await fs.symlink(at('outside-header'), at('app.json.kms-envelope'));
      await assert.rejects(readSidecar(at('app.json')), refusedAs('FORMAT', `${at('app.json.kms-envelope')} is not a regular file (a symlink or device); refusing to read it`));
    });

    it('passes on an error other than a missing file', async () => {
      // a name longer than the file system allows: lstat fails, and not because nothing is there
      await assert.rejects(readSidecar(at('x'.repeat(300))), (e: NodeJS.ErrnoException) => e.code === 'ENAMETOOLONG');
    });

    it('hasSidecar sees a sidecar, even a dangling symlink (which reading then refuses)', async () => {
      assert.equal(await hasSidecar(at('app.json')), false);
      await fs.symlink(at('nowhere'), at('app.json.kms-envelope'));
      assert.equal(await hasSidecar(at('app.json')), true);
    });
  });

  describe('kindOf', () => {
    it('a file type without comments is "text" when it has a sidecar, whatever its first bytes; a .env never looks at one', async () => {
      await fs.writeFile(at('app.json'), '{"a": 1}');
      assert.equal(await kindOf(at('app.json')), 'plain');
      await fs.writeFile(at('app.json.kms-envelope'), 'header');
      assert.equal(await kindOf(at('app.json')), 'text');
      await fs.writeFile(at('.env'), 'A=1\n');
      await fs.writeFile(at('.env.kms-envelope'), 'header');
      assert.equal(await kindOf(at('.env')), 'plain', 'a .env has comments: its header is inline, a sidecar beside it means nothing');
    });
  });

  describe('readHead (the workspace classifier)', () => {
    it('returns at once for a FIFO in the workspace instead of holding a thread until someone writes to it', async () => {
      assert.equal(spawnSync('mkfifo', [at('pipe')]).status, 0, 'mkfifo');
      // settles (a FIFO cannot be read at an offset: ESPIPE, which the classifier takes for plain) instead of hanging past mocha's timeout
      assert.equal(await readHead(at('pipe'), 64).then(() => 'read', (e: NodeJS.ErrnoException) => e.code), 'ESPIPE');
      await fs.writeFile(at('.env'), '# kms-envelope v1 dotenv\n');
      assert.equal(await readHead(at('.env'), 10), '# kms-enve');
    });
  });

  describe('decodeUtf8', () => {
    it('keeps a BOM, and refuses bytes that are not UTF-8 instead of replacing them', () => {
      assert.equal(decodeUtf8(Buffer.from('\uFEFFA=1', 'utf8'), 'x'), '\uFEFFA=1');
      assert.throws(() => decodeUtf8(Buffer.from([0x41, 0xff]), 'f.env'), refusedAs('USAGE', 'f.env is not valid UTF-8 text'));
    });
  });

  describe('temporary files of a killed writer', () => {
    const deadPid = (): number => {
      const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
      return Number(r.stdout.toString()); // exited: no process has this pid now (pids are not reused this soon)
    };

    it('the next write removes a dead writer’s temporary file of the same target, and nothing else', async () => {
      const dead = deadPid();
      // the temporary files of `.env` are `..env.<pid>.<12 hex digits>.kms-envelope-tmp`
      const stale = `..env.${dead}.0123456789ab.kms-envelope-tmp`;
      const keep = [
        `..env.${process.pid}.0123456789ab.kms-envelope-tmp`, // this process's own, in use
        `..env.1.0123456789ab.kms-envelope-tmp`, // pid 1 is alive
        `..env.${dead}.0123456789ab.kms-envelope-tmp.bak`, // not a temporary file's name
        `..env.${dead}.0123456789AB.kms-envelope-tmp`, // nor this
        `..env.${dead}.0123.kms-envelope-tmp`,
        `..env.x${dead}.0123456789ab.kms-envelope-tmp`,
        `..env.${dead}.0123456789ab.kms-envelope-tmpx`,
        `.other.${dead}.0123456789ab.kms-envelope-tmp`, // another target's
        `..env.local.${dead}.0123456789ab.kms-envelope-tmp`, // .env.local's, whose name starts like one of .env's
        `x.env.${dead}.0123456789ab.kms-envelope-tmp`,
      ];
      for (const n of [stale, ...keep]) await fs.writeFile(at(n), 'left');
      assert.equal(await removeStaleTemps(at('.env')), 1);
      assert.deepEqual((await fs.readdir(dir)).sort(), keep.sort());
      await fs.writeFile(at(stale), 'left');
      await atomicWrite(at('.env'), 'A=1\n');
      assert.ok(!(await fs.readdir(dir)).includes(stale), 'a write cleans up first');
    });

    it('a writer stopped by a signal removes its temporary file, then dies of that signal; the target is untouched; one handler however many writes', async () => {
      const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(__dirname, '../support/hung-writer.ts'), at('.env')], { env: { ...process.env, ...mutantEnv() }, stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        const said = await new Promise<string>((resolve, reject) => {
          child.stdout.on('data', (d: Buffer) => resolve(d.toString()));
          child.once('exit', () => reject(new Error('the writer ended before writing')));
        });
        // (in a process of its own: in this one, the handlers were installed by an earlier test)
        assert.equal(said, 'writing, 1 SIGTERM handler(s)\n', 'the third write installs no second handler');
        assert.equal((await fs.readdir(dir)).length, 2, 'the target and its temporary file');
        const ended = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
        child.kill('SIGTERM');
        assert.equal(await ended, 'SIGTERM');
      } finally {
        child.kill('SIGKILL');
        collectChildCoverage();
      }
      assert.deepEqual(await fs.readdir(dir), ['.env']);
      assert.equal(await fs.readFile(at('.env'), 'utf8'), 'A=old\n');
    });

    it('a folder that cannot be listed is nothing to clean', async () => {
      assert.equal(await removeStaleTemps(path.join(dir, 'no-such-folder', '.env')), 0);
    });

    it('a streamed write keeps every chunk in order, across batches of a MiB and a last short one', async () => {
      const chunks = [1, 65_552, 1024 * 1024 - 1, 2, 3 * 1024 * 1024, 0, 17].map((n) => randomBytes(n));
      await atomicWrite(at('big.bin'), (async function* () {
        yield* chunks;
      })());
      assert.ok((await fs.readFile(at('big.bin'))).equals(Buffer.concat(chunks)));
    });

    it('a streamed write reaches the disk as it goes, a MiB at a time: memory stays flat whatever the size', async () => {
      const onDisk: number[] = [];
      const temp = async () => {
        const name = (await fs.readdir(dir)).find((n) => n.endsWith('.kms-envelope-tmp'));
        return name ? (await fs.stat(at(name))).size : -1;
      };
      await atomicWrite(at('big.bin'), (async function* () {
        for (let i = 0; i < 4; i++) {
          yield Buffer.alloc(1024 * 1024, i);
          onDisk.push(await temp()); // what the writer had written when it asked for the next MiB
        }
      })());
      // when the writer asks for the chunk after the (k+1)-th MiB, at least k are on disk (the last may still be on its way)
      onDisk.forEach((bytes, k) => assert.ok(bytes >= k * 1024 * 1024, `written as the chunks came: ${onDisk.join(', ')}`));
      assert.equal((await fs.stat(at('big.bin'))).size, 4 * 1024 * 1024);
    });

    it('a stream that fails while a batch is on its way to the disk leaves the old file and no temporary file', async () => {
      await fs.writeFile(at('big.bin'), 'old');
      const failing = (async function* () {
        yield Buffer.alloc(3 * 1024 * 1024);
        yield Buffer.alloc(10);
        throw new Error('tampered chunk');
      })();
      await assert.rejects(atomicWrite(at('big.bin'), failing), /tampered chunk/);
      assert.equal(await fs.readFile(at('big.bin'), 'utf8'), 'old');
      assert.deepEqual(await fs.readdir(dir), ['big.bin']);
    });

    it('a write that fails leaves the old file and no temporary file', async () => {
      await fs.writeFile(at('.env'), 'A=old\n');
      const failing = (async function* () {
        yield Buffer.from('A=');
        throw new Error('KMS failed mid-stream');
      })();
      await assert.rejects(atomicWrite(at('.env'), failing), /KMS failed mid-stream/);
      assert.equal(await fs.readFile(at('.env'), 'utf8'), 'A=old\n');
      assert.deepEqual(await fs.readdir(dir), ['.env']);
    });
  });
  describe('readEnds', () => {
    it('gives a file\'s first and last bytes, or the whole file as both when it is shorter than the head (however short the tail)', async () => {
      await fs.writeFile(at('long'), 'a'.repeat(100) + 'b'.repeat(100));
      assert.deepEqual(await readEnds(at('long'), 10, 20), { head: 'a'.repeat(10), tail: 'b'.repeat(20) });
      await fs.writeFile(at('short'), 'x'.repeat(30));
      assert.deepEqual(await readEnds(at('short'), 64, 16), { head: 'x'.repeat(30), tail: 'x'.repeat(30) });
    });

    it('rejects with the system error for a missing file and a folder, and leaves no file open (readHead too)', async () => {
      const fds = () => readdirSync('/proc/self/fd').length;
      const before = fds();
      await assert.rejects(readEnds(at('missing'), 10, 10), /ENOENT/);
      await assert.rejects(readHead(at('missing')), /ENOENT/);
      await assert.rejects(readHead(dir), /EISDIR/);
      await assert.rejects(readEnds(dir, 10, 10), /EISDIR/);
      assert.equal(fds(), before);
    });
  });

  describe('readPieces', () => {
    const fds = () => readdirSync('/proc/self/fd').length;

    it('reads a file in pieces of the size asked (the last one shorter), into two buffers in turn, wiped at the end', async () => {
      const bytes = randomBytes(10_000);
      await fs.writeFile(at('f'), bytes);
      const seen: Buffer[] = [];
      const stores = new Set<ArrayBufferLike>();
      for await (const piece of readPieces(at('f'), 3000)) {
        seen.push(Buffer.from(piece)); // copied: the buffer is read into again two pieces on
        stores.add(piece.buffer);
      }
      assert.deepEqual(seen.map((p) => p.length), [3000, 3000, 3000, 1000]);
      assert.ok(Buffer.concat(seen).equals(bytes));
      assert.equal(stores.size, 2, 'no fresh memory per piece');
      assert.ok([...stores].every((store) => new Uint8Array(store).every((b) => b === 0)), 'its buffers are wiped once it is done (encryption reads plaintext)');
    });

    it('opens nothing until asked, reads an empty file as no piece, and closes the file when its reader stops early or it fails', async () => {
      await fs.writeFile(at('f'), Buffer.alloc(100_000));
      await fs.writeFile(at('empty'), '');
      const before = fds();
      const unstarted = readPieces(at('f'), 10);
      assert.equal(fds(), before);
      await unstarted.return(undefined);
      for await (const piece of readPieces(at('empty'), 10)) assert.fail(`a piece of ${piece.length} bytes`);
      for await (const piece of readPieces(at('f'), 1000)) if (piece.length) break;
      await assert.rejects(async () => {
        for await (const piece of readPieces(dir, 1000)) assert.fail(`a folder read as ${piece.length} bytes`);
      }, /EISDIR/);
      assert.equal(fds(), before);
    });
  });
});
