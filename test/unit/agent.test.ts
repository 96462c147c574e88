import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { AgentClient, ask, runningAgent, untrustedSocket } from '../../src/core/agent/client';
import { agentFolder, agentSocket, notPrivate, privateAgentFolder } from '../../src/core/agent/place';
import net from 'node:net';
import { agentId, parseRequest } from '../../src/core/agent/protocol';
import { MAX_KEYS, RunningAgent, serveAgent } from '../../src/core/agent/server';
import { isKmsEnvelopeError } from '../../src/core/errors';

/** What a local program sending `parts` (with a pause between them) gets back on the socket. */
function raw(socket: string, ...parts: string[]): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const c = net.createConnection(socket, async () => {
      for (const [i, p] of parts.entries()) {
        if (i) await new Promise((r) => setTimeout(r, 50));
        c.write(p);
      }
    });
    c.setEncoding('utf8');
    c.on('data', (d: string) => (got += d));
    c.on('error', () => resolve(got));
    c.on('close', () => resolve(got));
  });
}

describe('key agent, in process (core/agent): bounds, wiping, and whom a client trusts', () => {
  let dir: string;
  let socket: string;
  let agent: RunningAgent | undefined;
  let clock = 0;
  const start = async (o: { maxAgeMs?: number; idleMs?: number } = {}) => {
    agent = await serveAgent({ socket, maxAgeMs: o.maxAgeMs ?? 60_000, idleMs: o.idleMs ?? 60_000, now: () => clock });
    return new AgentClient(socket);
  };
  const dek = (n: number) => Buffer.alloc(32, n);

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), 'kms-envelope-agent-'));
    await fs.chmod(dir, 0o700);
    socket = path.join(dir, 'agent.sock');
    clock = 1_000_000;
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('hands back what was put, by the cache id, and nothing for another id', async () => {
    const c = await start();
    await c.put('stanza-a', dek(1));
    assert.deepEqual(await c.get('stanza-a'), dek(1));
    assert.equal(await c.get('stanza-b'), undefined);
    assert.equal((await c.status())!.keys, 1);
  });

  it('drops a key at its max age, not before', async () => {
    const c = await start({ maxAgeMs: 1000 });
    await c.put('a', dek(1));
    clock += 999;
    assert.deepEqual(await c.get('a'), dek(1));
    clock += 1;
    assert.equal(await c.get('a'), undefined);
    assert.equal((await c.status())!.keys, 0);
  });

  it(`holds at most ${MAX_KEYS} keys: the oldest goes first; a key put again is not counted twice`, async () => {
    const c = await start();
    for (let i = 0; i < MAX_KEYS; i++) await c.put(`k${i}`, dek(i % 256));
    await c.put('k1', dek(9));
    assert.equal((await c.status())!.keys, MAX_KEYS);
    await c.put('one more', dek(2));
    assert.equal((await c.status())!.keys, MAX_KEYS);
    assert.equal(await c.get('k0'), undefined, 'the oldest was dropped');
    assert.deepEqual(await c.get('k1'), dek(9));
    assert.deepEqual(await c.get('one more'), dek(2));
  });

  it('stop wipes every key, says how many, removes the socket and ends', async () => {
    const c = await start();
    await c.put('a', dek(1));
    await c.put('b', dek(2));
    assert.equal(await c.stop(), 2);
    await agent!.stopped;
    await assert.rejects(fs.lstat(socket), /ENOENT/);
    assert.equal(await c.get('a'), undefined, 'nothing answers');
    assert.equal(await c.stop(), undefined);
  });

  it('stops by itself after the idle time; each request starts the time again', async () => {
    await start({ idleMs: 300 });
    const c = new AgentClient(socket);
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 150));
      assert.ok(await c.status(), `still running after ${(i + 1) * 150} ms of requests`);
    }
    await Promise.race([agent!.stopped, new Promise((_, reject) => setTimeout(() => reject(new Error('did not stop')), 2000))]);
  });

  it('ids are SHA-256 of the cache id: the socket never carries a wrapped key or context', () => {
    assert.match(agentId('x'), /^[0-9a-f]{64}$/);
    assert.notEqual(agentId('x'), agentId('y'));
    assert.equal(agentId('x'), '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881');
  });

  it('a folder or socket of another user is not trusted', async () => {
    await start();
    const other = (process.getuid?.() ?? 0) + 1;
    assert.equal(notPrivate(dir, other), 'another user owns it');
    assert.match(untrustedSocket(socket, other)!, /its folder .* is not private: another user owns it/);
    assert.equal(untrustedSocket(socket, (await fs.lstat(dir)).uid), undefined);
  });

  it('a client trusts only a socket of its user in a private folder', async () => {
    assert.equal(untrustedSocket(socket), 'it is not running');
    await start();
    assert.equal(untrustedSocket(socket), undefined);
    await fs.chmod(dir, 0o750);
    assert.match(untrustedSocket(socket)!, /is not private: others can open it \(mode 750\)/);
    await fs.chmod(dir, 0o700);
    const plain = path.join(dir, 'plain');
    await fs.writeFile(plain, '');
    assert.equal(untrustedSocket(plain), `${plain} is not a socket`);
    const link = path.join(dir, 'link');
    await fs.symlink(socket, link);
    assert.equal(untrustedSocket(link), `${link} is not a socket`, 'a symlink is not followed');
  });

  it('a folder is private only as a directory of ours, not a symlink, closed to group and others', async () => {
    assert.equal(notPrivate(dir), undefined);
    assert.equal(notPrivate(path.join(dir, 'none')), 'it does not exist');
    const file = path.join(dir, 'f');
    await fs.writeFile(file, '');
    assert.equal(notPrivate(file), 'it is not a directory');
    const link = path.join(dir, 'l');
    await fs.symlink(dir, link);
    assert.equal(notPrivate(link), 'it is not a directory');
    await fs.chmod(dir, 0o701);
    assert.equal(notPrivate(dir), 'others can open it (mode 701)');
    await fs.chmod(dir, 0o700);
  });

  it('lives in XDG_RUNTIME_DIR when the session has one (absolute), else the cache folder; made 0700', async () => {
    assert.equal(agentFolder({ XDG_RUNTIME_DIR: '/run/user/1000' }), '/run/user/1000/kms-envelope');
    assert.equal(agentFolder({ XDG_RUNTIME_DIR: 'relative', XDG_CACHE_HOME: '/c' }), '/c/kms-envelope/agent');
    assert.equal(agentFolder({ XDG_CACHE_HOME: 'relative' }), path.join(homedir(), '.cache', 'kms-envelope', 'agent'));
    assert.equal(agentSocket({ XDG_RUNTIME_DIR: '/r' }), '/r/kms-envelope/agent.sock');
    const made = privateAgentFolder({ XDG_RUNTIME_DIR: dir });
    assert.equal((await fs.stat(made)).mode & 0o777, 0o700);
    await fs.chmod(made, 0o755);
    assert.throws(
      () => privateAgentFolder({ XDG_RUNTIME_DIR: dir }),
      (e: unknown) => isKmsEnvelopeError(e) && e.code === 'CONFIG' && /^the key agent's folder .* is not private: others can open it \(mode 755\)$/.test(e.message) && e.hint === 'Make it a folder of your own with mode 700 (chmod 700), or remove it.',
    );
  });

  it('runningAgent: a client only where an agent socket is trusted, and never with KMS_ENVELOPE_AGENT=0', async () => {
    const env = { XDG_RUNTIME_DIR: dir };
    await fs.mkdir(path.join(dir, 'kms-envelope'), { mode: 0o700 });
    assert.equal(runningAgent(env), undefined);
    socket = path.join(dir, 'kms-envelope', 'agent.sock');
    await start();
    assert.ok(runningAgent(env) instanceof AgentClient);
    assert.equal(runningAgent({ ...env, KMS_ENVELOPE_AGENT: '0' }), undefined);
  });

  it('a client gives up on an agent that does not answer in time, and takes no answer it cannot read', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(socket, () => r()));
    try {
      const started = Date.now();
      assert.equal(await ask(socket, { op: 'status' }, 200), undefined);
      assert.ok(Date.now() - started < 1500);
    } finally {
      silent.close();
    }
    await fs.rm(socket, { force: true });
    const garbled = net.createServer((c) => c.end('not json\n'));
    await new Promise<void>((r) => garbled.listen(socket, () => r()));
    try {
      assert.equal(await ask(socket, { op: 'status' }), undefined);
      assert.equal(await new AgentClient(socket).get('a'), undefined);
    } finally {
      garbled.close();
    }
    for (const answer of ['{"error":"no"}\n', '[1]\n', 'null\n', `{"dek":"${'A'.repeat(5000)}"}\n`, `{"dek":"${Buffer.alloc(16).toString('base64')}"}\n`]) {
      await fs.rm(socket, { force: true });
      const odd = net.createServer((c) => c.end(answer));
      await new Promise<void>((r) => odd.listen(socket, () => r()));
      try {
        assert.equal(await new AgentClient(socket).get('a'), undefined, answer.slice(0, 40));
        if (!answer.includes('dek')) assert.equal(await ask(socket, { op: 'status' }), undefined, answer);
      } finally {
        odd.close();
      }
    }
  });

  it('speaks its protocol to any local program: answers, errors, a request in pieces, the 4 KiB line limit to the byte', async () => {
    await start();
    const id = 'a'.repeat(64);
    const dekText = dek(5).toString('base64');
    assert.equal(await raw(socket, `{"op":"put","id":"${id}","dek":"${dekText}"}\n`), '{"ok":true}\n');
    assert.equal(await raw(socket, `{"op":"get","id":"${id}"}\n`), `{"dek":"${dekText}"}\n`);
    assert.equal(await raw(socket, `{"op":"get","id":"${'b'.repeat(64)}"}\n`), '{}\n');
    assert.equal(await raw(socket, '{"op":"get","id":"zz"}\n'), '{"error":"malformed request"}\n');
    assert.equal(await raw(socket, '\n'), '{"error":"malformed request"}\n', 'an empty line is answered, not waited on');
    assert.match(await raw(socket, '{"op":"sta', 'tus"}\n'), /^\{"pid":\d+,"keys":1,/, 'a request in two pieces');
    assert.match(await raw(socket, '{"op":"status"}\nand more'), /^\{"pid":/, 'the first line is the request');
    const padded = (n: number) => `{"op":"status"}${' '.repeat(n - 16)}\n`;
    assert.equal(padded(4096).length, 4096);
    assert.match(await raw(socket, padded(4096)), /^\{"pid":/, 'a line of exactly 4 KiB is read');
    assert.equal(await raw(socket, padded(4097)), '', 'a longer one is cut off without an answer');
    assert.equal(await raw(socket, '{"op":"stop"}\n'), '{"ok":true,"wiped":1}\n');
  });

  it('closes a connection that says nothing within 2 s', async () => {
    await start();
    const started = Date.now();
    assert.equal(await raw(socket), '');
    const took = Date.now() - started;
    assert.ok(took >= 1900 && took < 4000, `closed after ${took} ms`);
  });

  it('zeroes the buffer of every key it drops: at its age, when replaced, and on stop', async () => {
    const c = await start({ maxAgeMs: 1000 });
    await c.put('a', dek(1));
    const [first] = agent!.rawBuffersForTest();
    await c.put('a', dek(2));
    assert.ok(first.every((b) => b === 0), 'the replaced key');
    const [second] = agent!.rawBuffersForTest();
    clock += 1000;
    assert.equal(await c.get('a'), undefined);
    assert.ok(second.every((b) => b === 0), 'the expired key');
    await c.put('b', dek(3));
    await c.put('c', dek(4));
    const held = agent!.rawBuffersForTest();
    assert.equal(held.length, 2);
    await agent!.stop();
    assert.ok(held.every((k) => k.every((b) => b === 0)), 'every key on stop');
  });

  it('creates its socket 0600 and gives the process its umask back; a place it cannot listen on is an error', async () => {
    const before = process.umask(0o022); // a known mask, whatever an earlier test left
    await start();
    assert.equal(process.umask(), 0o022);
    process.umask(before);
    assert.equal((await fs.lstat(socket)).mode & 0o777, 0o600);
    process.umask(0o022);
    await assert.rejects(serveAgent({ socket: path.join(dir, 'missing', 'agent.sock'), maxAgeMs: 1000, idleMs: 1000 }), /listen EACCES|ENOENT/);
    assert.equal(process.umask(0o022), 0o022, 'given back after a failure too');
    process.umask(before);
  });

  it('parses requests strictly (protocol.ts)', () => {
    const id = 'f'.repeat(64);
    const d = dek(7).toString('base64');
    assert.deepEqual(parseRequest(JSON.stringify({ op: 'get', id })), { op: 'get', id });
    assert.deepEqual(parseRequest(JSON.stringify({ op: 'put', id, dek: d })), { op: 'put', id, dek: d });
    assert.deepEqual(parseRequest('{"op":"stop"}'), { op: 'stop' });
    assert.deepEqual(parseRequest('{"op":"status"}'), { op: 'status' });
    for (const bad of ['', 'null', '[]', '"get"', '{"op":"get"}', `{"op":"get","id":"${id.toUpperCase()}"}`, `{"op":"put","id":"${id}","dek":"${d}x"}`, `{"op":"put","id":"${id}"}`, `{"op":"get","id":"${id}","dek":"${d}"}`, '{"op":"other"}', '{"op":"get","id":"__proto__"}', '{"op":"stop","id":1}', `{"op":"status","id":"${id}"}`, `{"op":"put","id":"${id}","dek":"${d}","x":1}`, '1', 'true', '[{"op":"stop"}]']) {
      assert.equal(parseRequest(bad), undefined, bad);
    }
  });

  it('a client reads an answer in pieces, up to 4 KiB to the byte, and drops a longer one', async () => {
    const status = (pad: number) => `{"pid":1,"keys":0,"maxAgeMs":1,"idleMs":1,"startedAt":"${'x'.repeat(pad)}"}\n`;
    const base = status(0).length;
    const serve = async (pieces: string[]) => {
      await fs.rm(socket, { force: true });
      const s = net.createServer(async (c) => {
        for (const [i, p] of pieces.entries()) {
          if (i) await new Promise((r) => setTimeout(r, 50));
          c.write(p);
        }
        c.end();
      });
      await new Promise<void>((r) => s.listen(socket, () => r()));
      return s;
    };
    const cases: [string, string[], boolean][] = [
      ['in two pieces', [status(10).slice(0, 20), status(10).slice(20)], true],
      ['exactly 4 KiB', [status(4096 - base)], true],
      ['one byte more', [status(4097 - base)], false],
    ];
    for (const [what, pieces, read] of cases) {
      const s = await serve(pieces);
      try {
        const got = await new AgentClient(socket).status();
        assert.equal(got !== undefined, read, what);
      } finally {
        s.close();
      }
    }
  });

  it('takes over a socket file left behind by an agent that died', async () => {
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(socket, () => r()));
    await new Promise<void>((r) => dead.close(() => r()));
    await fs.writeFile(socket, ''); // what a crash can leave: a file where the socket was
    const c = await start();
    await c.put('a', dek(3));
    assert.deepEqual(await c.get('a'), dek(3));
    assert.equal((await fs.lstat(socket)).mode & 0o777, 0o600);
  });
});
