import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Classifier, sniffFile } from '../../src/core/classify';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('classifying files lazily', () => {
  it('reads at most `concurrency` files at once, however many are asked for together', async () => {
    let open = 0;
    let most = 0;
    const c = new Classifier({
      concurrency: 4,
      sniff: async (f) => {
        most = Math.max(most, ++open);
        await tick();
        open--;
        return f.endsWith('.enc') ? true : null;
      },
    });
    const files = Array.from({ length: 500 }, (_, i) => `/w/f${i}${i % 7 === 0 ? '.enc' : ''}`);
    const verdicts = await Promise.all(files.map((f) => c.classify(f)));
    assert.equal(most, 4);
    assert.equal(c.peak, 4);
    assert.equal(verdicts.filter((v) => v === true).length, files.filter((f) => f.endsWith('.enc')).length);
  });

  it('a file that cannot be read is unknown (undefined), never plain (null), and is read again when next asked', async () => {
    let fail = true;
    const c = new Classifier({
      sniff: async () => {
        if (fail) throw Object.assign(new Error('denied'), { code: 'EACCES' });
        return true;
      },
    });
    assert.equal(await c.classify('/w/.env'), undefined);
    assert.equal(c.known('/w/.env'), undefined);
    fail = false;
    assert.equal(await c.classify('/w/.env'), true);
  });

  it('out of file handles, it waits and tries again instead of taking the file for plain', async () => {
    let calls = 0;
    const c = new Classifier({
      sniff: async () => {
        if (++calls < 3) throw Object.assign(new Error('too many open files'), { code: 'EMFILE' });
        return true;
      },
    });
    assert.equal(await c.classify('/w/.env'), true);
    assert.equal(calls, 3);
  });

  it('out of file handles (EMFILE or ENFILE) it tries three more times, waiting 20, 40 and 60 ms, then calls the file unknown', async () => {
    for (const code of ['EMFILE', 'ENFILE']) {
      let calls = 0;
      const c = new Classifier({
        sniff: async () => {
          calls++;
          throw Object.assign(new Error('too many open files'), { code });
        },
      });
      const started = process.hrtime.bigint();
      assert.equal(await c.classify('/w/.env'), undefined);
      const waited = Number(process.hrtime.bigint() - started) / 1e6;
      assert.equal(calls, 4, code);
      // timers never fire early: a shorter back-off cannot reach 120 ms
      assert.ok(waited >= 119, `${code}: waited ${waited} ms`);
    }
  });

  it('a path that is not a file (gone, a folder, under a file) is plain (null), not unknown; any other failure is unknown and not tried again', async () => {
    for (const code of ['ENOENT', 'EISDIR', 'ENOTDIR', 'EACCES', 'EIO']) {
      let calls = 0;
      const c = new Classifier({
        sniff: async () => {
          calls++;
          throw Object.assign(new Error(code), { code });
        },
      });
      assert.equal(await c.classify('/w/x'), ['EACCES', 'EIO'].includes(code) ? undefined : null, code);
      assert.equal(calls, 1, code);
    }
  });

  it('remembers at most maxEntries verdicts, forgetting the oldest first', async () => {
    const c = new Classifier({ maxEntries: 2, sniff: async (f) => (f === '/w/b' ? true : null) });
    await c.classify('/w/a');
    await c.classify('/w/b');
    assert.equal(c.size, 2);
    assert.deepEqual([c.known('/w/a'), c.known('/w/b')], [null, true]);
    await c.classify('/w/c');
    assert.equal(c.size, 2);
    assert.deepEqual([c.known('/w/a'), c.known('/w/b'), c.known('/w/c')], [undefined, true, null]);
  });

  it('a long queue (thousands of files waiting for one slot) wakes every file once, in order', async () => {
    const order: number[] = [];
    const c = new Classifier({ concurrency: 1, sniff: async (f) => (order.push(Number(f.slice(3))), await Promise.resolve(), null) });
    const n = 5000;
    const verdicts = await Promise.all(Array.from({ length: n }, (_, i) => c.classify(`/w/${i}`)));
    assert.equal(verdicts.length, n);
    assert.ok(verdicts.every((v) => v === null));
    assert.deepEqual(order, Array.from({ length: n }, (_, i) => i));
    assert.equal(c.peak, 1);
  });

  it('remembers a verdict until the file changes (forget), reading each file once', async () => {
    const reads: string[] = [];
    let encrypted = false;
    const c = new Classifier({ sniff: async (f) => (reads.push(f), encrypted ? true : null) });
    await Promise.all([c.classify('/w/a'), c.classify('/w/a'), c.classify('/w/a')]);
    assert.equal(await c.classify('/w/a'), null);
    assert.deepEqual(reads, ['/w/a']);
    encrypted = true;
    c.forget('/w/a');
    assert.equal(await c.classify('/w/a'), true);
    assert.equal(reads.length, 2);
  });

  it('sniffFile tells encrypted files (their store and key labels, sidecars included) from plain ones by their first bytes', async () => {
    const dir = await fs.mkdtemp(path.join(tmpdir(), 'classify-'));
    const arn = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    await fs.writeFile(path.join(dir, 'a.env'), `# kms-envelope v1 dotenv\n# -> aws-kms ${arn} AAAA alias/app\n# -> aws-kms ${arn} BBBB\n# mac x\nA=ENC[kmsenv:v1:x]\n`);
    await fs.writeFile(path.join(dir, 'b.env'), 'A=1\n');
    await fs.writeFile(path.join(dir, 'c.json'), '{"a": "ENC[kmsenv:v1:x]"}');
    await fs.writeFile(path.join(dir, 'c.json.kms-envelope'), `# kms-envelope v1 text\n# -> aws-kms ${arn} AAAA alias/json\n# mac x\n`);
    const c = new Classifier({ sniff: sniffFile });
    assert.deepEqual(await c.classify(path.join(dir, 'a.env')), { store: 'dotenv', keys: ['alias/app', 'key/1234abcd-12ab-34cd-56ef-1234567890ab'] });
    assert.deepEqual(await c.classify(path.join(dir, 'c.json')), { store: 'text', keys: ['alias/json'] });
    assert.equal(await c.classify(path.join(dir, 'b.env')), null);
    assert.equal(await c.classify(path.join(dir, 'missing')), null);
    // a file whose type has comments is read itself, even with a sidecar-named file beside it
    await fs.writeFile(path.join(dir, 'd.env'), 'A=1\n');
    await fs.writeFile(path.join(dir, 'd.env.kms-envelope'), `# kms-envelope v1 text\n# -> aws-kms ${arn} AAAA alias/json\n# mac x\n`);
    assert.equal(await sniffFile(path.join(dir, 'd.env')), null);
    // a file of a type without comments and no sidecar is read itself
    await fs.writeFile(path.join(dir, 'e.json'), '{}');
    assert.equal(await sniffFile(path.join(dir, 'e.json')), null);
    await fs.rm(dir, { recursive: true });
  });
});
