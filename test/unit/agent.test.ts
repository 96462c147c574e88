import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { AgentClient, ask, runningAgent, untrustedSocket } from '../../src/core/agent/client';
import { agentFolder, agentSocket, notPrivate, privateAgentFolder } from '../../src/core/agent/place';
import { agentId } from '../../src/core/agent/protocol';
import { MAX_KEYS, RunningAgent, serveAgent } from '../../src/core/agent/server';

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
    assert.throws(() => privateAgentFolder({ XDG_RUNTIME_DIR: dir }), /the key agent's folder .* is not private: others can open it \(mode 755\)/);
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
    const net = await import('node:net');
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
  });
});
