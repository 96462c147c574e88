/**
 * Git without friction (issue 8), driven through Debian's real git in scratch repositories: the
 * textconv diff, git's merge driver, the pre-commit guard, and `git setup` / `--undo`. git calls
 * the built CLI the way `git setup` tells it to, against the local KMS.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { joinSealed, sealDotenv, wipeFileKey } from '../../src/core/envelope';
import { parseHeader } from '../../src/core/header';
import { KmsKeyProvider } from '../../src/core/kms/aws-kms';
import { openTextFile } from '../../src/core/operations';
import { OTHER_ACCOUNT, Sandbox, startSandbox } from '../support/aws-sandbox';
import { runCli } from '../support/cli';
import { underMutation } from '../support/mutants';
import { withEnv } from '../support/with-env';

const ENV = '# database\nDB_HOST=db.internal\nDB_PASSWORD=first-password\n\n# api\nAPI_KEY=api-key-one\n';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('git integration: decrypted diffs, merges by variable, a pre-commit guard', function () {
  this.timeout(120_000);
  let sb: Sandbox;
  let repo: string;
  let env: Record<string, string>;

  const at = (f: string) => path.join(repo, f);
  const read = (f: string) => fs.readFile(at(f), 'utf8');
  const write = (f: string, text: string) => fs.writeFile(at(f), text);
  const cli = async (args: string[], extra: Record<string, string> = {}, input?: string) => {
    const r = await runCli(args, { cwd: repo, env: { ...env, ...extra }, input });
    return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  // git runs the CLI in its hooks, merge driver and textconv: under mutation testing they run the mutant too
  const git = (args: string[], extra: Record<string, string> = {}): Promise<Run> =>
    underMutation(
      (mutant) =>
        new Promise((resolve) => {
          execFile('git', args, { cwd: repo, env: { ...env, ...extra, ...mutant }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
          );
        }),
    );
  const ok = async (args: string[], extra: Record<string, string> = {}) => {
    const r = await git(args, extra);
    assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const okCli = async (args: string[], input?: string) => {
    const r = await cli(args, {}, input);
    assert.equal(r.code, 0, `kms-envelope ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const commitAll = async (message: string, ...flags: string[]) => {
    await ok(['add', '-A']);
    await ok(['commit', '-q', ...flags, '-m', message]);
  };
  const set = (name: string, value: string, file = '.env') => okCli(['set', file, name], `${value}\n`);
  const get = async (name: string, file = '.env') => (await okCli(['get', file, name])).stdout.trimEnd();
  /** An edit as the decrypted view makes it: same data key, unchanged values keep their tokens. */
  const editDecrypted = async (file: string, edit: (plaintext: string) => string) => {
    await withEnv({ ...env }, async () => {
      const svc = new KmsKeyProvider({ chosenKeys: [sb.keyArn] });
      const opened = await openTextFile(at(file), svc);
      try {
        await fs.writeFile(at(file), joinSealed(sealDotenv(edit(opened.plaintext), opened.key, { layout: opened.layout, reuse: opened.reuse })));
      } finally {
        wipeFileKey(opened.key);
      }
    });
  };
  const decryptCalls = () => sb.kms.log.filter((e) => e.action === 'Decrypt').length;

  before(async () => {
    sb = await startSandbox();
  });
  after(() => sb.close());
  beforeEach(async () => {
    repo = await fs.mkdtemp(path.join(sb.dir, 'repo-'));
    env = {
      ...sb.env,
      AWS_PROFILE: 'default',
      KMS_ENVELOPE_KEY: sb.keyArn,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.invalid',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.invalid',
    };
    await ok(['init', '-q', '-b', 'main']);
    await write('.env', ENV);
    await okCli(['encrypt', '.env']);
    await okCli(['git', 'setup']);
    await commitAll('encrypted .env');
    sb.kms.log.length = 0;
  });

  describe('uninstall-safe (issue 21, item 7)', () => {
    it('the hook is silent when the check passes; with kms-envelope gone, git diff shows the file as it is and a commit is refused, each in one line, never a stack trace', async () => {
      // kms-envelope installed somewhere, set up from there
      const installed = path.join(sb.dir, `installed-${path.basename(repo)}`);
      await fs.cp(path.join(__dirname, '../../dist'), installed, { recursive: true });
      await okCli(['git', 'setup', '--command', `${process.execPath} ${path.join(installed, 'cli.js')}`]);
      await set('DB_PASSWORD', 'second-password');
      await ok(['add', '-A']);
      const committed = await git(['commit', '-q', '-m', 'through the hook']);
      assert.equal(committed.code, 0, committed.stderr);
      assert.equal(committed.stderr, '', 'the hook says nothing when the check passes');

      await fs.rm(installed, { recursive: true });
      await set('DB_PASSWORD', 'third-password');
      const diff = await git(['diff']);
      assert.equal(diff.code, 0, diff.stderr);
      assert.match(diff.stdout, /ENC\[kmsenv/, 'the file as it is');
      const gone = `kms-envelope: ${path.join(installed, 'cli.js')} is gone (kms-envelope was uninstalled or moved). Reinstall it and run \`kms-envelope git setup\` again, or take the integration out of this repository with \`kms-envelope git setup --undo\``;
      assert.deepEqual([...new Set(diff.stderr.trim().split('\n'))], [gone]);
      await ok(['add', '-A']);
      const refused = await git(['commit', '-q', '-m', 'without kms-envelope']);
      assert.notEqual(refused.code, 0);
      assert.equal(refused.stderr.trim(), gone);
      assert.doesNotMatch(diff.stderr + refused.stderr, /\n\s+at |Cannot find module/);
      // the remedy works
      await okCli(['git', 'setup', '--undo']);
      assert.equal((await git(['commit', '-q', '-m', 'after undo'])).code, 0);
    });
  });

  describe('diffs', () => {
    it('git diff shows only the changed variable, in plaintext, at one KMS call per version', async () => {
      await set('DB_PASSWORD', 'second-password');
      const diff = await ok(['diff']);
      const changed = diff.split('\n').filter((l) => /^[-+](?![-+])/.test(l));
      assert.deepEqual(changed, ['-DB_PASSWORD=first-password', '+DB_PASSWORD=second-password']);
      assert.doesNotMatch(diff, /ENC\[kmsenv/);
      const raw = await ok(['diff', '--no-textconv']);
      assert.match(raw, /ENC\[kmsenv/, 'without textconv the diff is ciphertext');
      sb.kms.log.length = 0;
      await ok(['diff']);
      assert.equal(decryptCalls(), 2, 'one Decrypt for HEAD\'s version, one for the working file');
    });

    it('git log -p and git show print every commit\'s change decrypted', async () => {
      await set('DB_PASSWORD', 'second-password');
      await commitAll('second password');
      await set('API_KEY', 'api-key-two');
      await commitAll('second api key');
      const log = await ok(['log', '-p', '--format=commit %s']);
      for (const line of ['-API_KEY=api-key-one', '+API_KEY=api-key-two', '-DB_PASSWORD=first-password', '+DB_PASSWORD=second-password', '+DB_HOST=db.internal']) {
        assert.ok(log.split('\n').includes(line), `${line} in git log -p:\n${log}`);
      }
      assert.doesNotMatch(log, /ENC\[kmsenv/);
      assert.match(await ok(['show', 'HEAD~1']), /^\+DB_PASSWORD=second-password$/m);
    });

    it('without access, the diff still works: the file shows as it is, with one line saying why', async () => {
      await set('DB_PASSWORD', 'second-password');
      const r = await git(['diff'], { KMS_ENVELOPE_KEY: '', AWS_PROFILE: 'nobody' });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^\+DB_PASSWORD=ENC\[kmsenv:v1:/m);
      assert.doesNotMatch(r.stdout, /second-password|first-password/);
      const notes = r.stderr.split('\n').filter((l) => l.startsWith('kms-envelope:'));
      assert.equal(notes.length, 2, r.stderr);
      assert.match(notes[0], /diff shows .* encrypted: .*allow/i);
    });

    it('cachetextconv is never set, and setup removes it if someone did (git would keep the plaintext in its notes)', async () => {
      assert.equal((await git(['config', '--get', 'diff.kms-envelope.cachetextconv'])).code, 1);
      await ok(['config', 'diff.kms-envelope.cachetextconv', 'true']);
      const r = await okCli(['git', 'setup']);
      assert.match(r.stderr, /removed diff\.kms-envelope\.cachetextconv/);
      assert.equal((await git(['config', '--get', 'diff.kms-envelope.cachetextconv'])).code, 1);
    });
  });

  describe('merges', () => {
    const branches = async (ours: () => Promise<unknown>, theirs: () => Promise<unknown>, theirsFlags: string[] = []) => {
      await ok(['checkout', '-q', '-b', 'theirs']);
      await theirs();
      await commitAll('theirs', ...theirsFlags);
      await ok(['checkout', '-q', 'main']);
      await ours();
      await commitAll('ours');
    };

    it('changes to different variables, an addition on each side and a comment edit merge cleanly, into a file that verifies', async () => {
      await branches(
        async () => {
          await set('DB_PASSWORD', 'ours-password');
          await set('OURS_ONLY', 'added-by-ours');
        },
        async () => {
          await set('API_KEY', 'theirs-api-key');
          await set('THEIRS_ONLY', 'added-by-theirs');
          await editDecrypted('.env', (t) => t.replace('# api', '# api (rotated monthly)'));
        },
      );
      const before = await read('.env');
      const r = await git(['merge', '-q', '--no-edit', 'theirs']);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const merged = await read('.env');
      assert.equal(await get('DB_PASSWORD'), 'ours-password');
      assert.equal(await get('API_KEY'), 'theirs-api-key');
      assert.equal(await get('OURS_ONLY'), 'added-by-ours');
      assert.equal(await get('THEIRS_ONLY'), 'added-by-theirs');
      assert.equal(await get('DB_HOST'), 'db.internal');
      assert.match(merged, /^# api \(rotated monthly\)$/m);
      // unchanged values keep their tokens: the merge commit is a small diff
      const tokens = (t: string) => new Set(t.match(/ENC\[kmsenv:v1:[^\]]+\]/g));
      assert.ok(tokens(merged).has([...tokens(before)].find((t) => before.includes(`DB_HOST=${t}`))!));
      assert.equal((await cli(['check', '.env'])).code, 0);
    });

    it('the same variable changed differently is a conflict: markers around both values as tokens, no plaintext on disk, the path unmerged', async () => {
      await branches(
        () => set('DB_PASSWORD', 'ours-password'),
        () => set('DB_PASSWORD', 'theirs-password'),
      );
      const r = await git(['merge', '--no-edit', 'theirs']);
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /CONFLICT \(content\)/);
      const text = await read('.env');
      assert.match(text, /^<<<<<<< ours\nDB_PASSWORD=ENC\[kmsenv:v1:[^\]]+\]\n=======\nDB_PASSWORD=ENC\[kmsenv:v1:[^\]]+\]\n>>>>>>> theirs$/m);
      assert.doesNotMatch(text, /ours-password|theirs-password|first-password/);
      assert.match(await ok(['ls-files', '-u']), /\.env/);
      // the file is still a valid encrypted file: decrypted, it shows the markers with plaintext
      const shown = (await okCli(['decrypt', '--stdout', '.env'])).stdout;
      assert.match(shown, /<<<<<<< ours\nDB_PASSWORD=ours-password\n=======\nDB_PASSWORD=theirs-password\n>>>>>>> theirs\n/);
      // and nothing reads it as if it were resolved
      const check = await cli(['check', '.env']);
      assert.equal(check.code, 3);
      assert.match(check.stderr, /unresolved merge conflict/);
      const run = await cli(['run', '--', 'true']);
      assert.equal(run.code, 3);
      assert.match(run.stderr, /merge conflict/);
    });

    it('a version that is not encrypted is not merged in: its values are not authenticated (ours kept, path conflicted)', async () => {
      await branches(
        () => set('DB_PASSWORD', 'ours-password'),
        async () => {
          await okCli(['decrypt', '.env']);
          await write('.env', (await read('.env')).replace('api-key-one', 'attacker-chosen'));
        },
        ['--no-verify'], // past the guard, as a committer without the key would be
      );
      const ours = await read('.env');
      const r = await git(['merge', '--no-edit', 'theirs']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /theirs is not encrypted.*not authenticated/);
      assert.equal(await read('.env'), ours);
      assert.equal(await get('API_KEY'), 'api-key-one');
    });

    it('a version sealed under a key of another account (a committer\'s own) is refused before any KMS call to it: ours kept, path conflicted', async () => {
      const attacker = sb.kms.createKey('a committer\'s own key', OTHER_ACCOUNT);
      await branches(
        () => set('DB_PASSWORD', 'ours-password'),
        async () => {
          await write('.env', 'DB_HOST=attacker.example.com\nDB_PASSWORD=attacker-chosen\n');
          const r = await cli(['encrypt', '.env'], { KMS_ENVELOPE_KEY: attacker });
          assert.equal(r.code, 0, r.stderr);
        },
      );
      const ours = await read('.env');
      sb.kms.log.length = 0;
      const r = await git(['merge', '--no-edit', 'theirs']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /cannot merge \.env, kept ours: .*allow/i);
      assert.equal(await read('.env'), ours);
      assert.ok(sb.kms.log.every((e) => e.keyArn !== attacker), 'no KMS call names the committer\'s key');
    });

    it('when only theirs rotated the data key, the result is sealed under theirs\' key (the rotation is not undone)', async () => {
      await branches(
        () => set('DB_PASSWORD', 'ours-password'),
        () => okCli(['rotate', '.env']),
      );
      const theirsHeader = parseHeader((await ok(['show', 'theirs:.env'])))!.header;
      const r = await git(['merge', '-q', '--no-edit', 'theirs']);
      assert.equal(r.code, 0, r.stderr);
      const merged = parseHeader(await read('.env'))!.header;
      assert.deepEqual(merged.commitment, theirsHeader.commitment);
      assert.equal(await get('DB_PASSWORD'), 'ours-password');
    });

    it('a whole file changed on both sides is left as ours, conflicted, with what to do', async () => {
      await write('blob.bin', 'version one\n');
      await okCli(['encrypt', 'blob.bin']);
      await okCli(['git', 'setup']);
      await commitAll('blob');
      await branches(
        async () => {
          await write('blob.bin', 'ours\n');
          await fs.rm(at('blob.bin'));
          await write('blob.bin', 'ours version\n');
          await okCli(['encrypt', 'blob.bin']);
        },
        async () => {
          await fs.rm(at('blob.bin'));
          await write('blob.bin', 'theirs version\n');
          await okCli(['encrypt', 'blob.bin']);
        },
      );
      const ours = await read('blob.bin');
      const r = await git(['merge', '--no-edit', 'theirs']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /both sides changed a file encrypted whole.*git checkout --theirs/);
      assert.equal(await read('blob.bin'), ours);
    });
  });

  describe('the pre-commit guard', () => {
    it('refuses a staged plaintext .env, names it and says what to do; accepts it encrypted; a template passes in clear', async () => {
      await write('.env.local', 'TOKEN=plain-secret\n');
      await write('.env.example', 'TOKEN=\n');
      await ok(['add', '.env.local', '.env.example']);
      const refused = await git(['commit', '-m', 'oops']);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /\.env\.local: not encrypted\n\s+run `kms-envelope encrypt \.env\.local`/);
      assert.doesNotMatch(refused.stderr, /\.env\.example/);
      assert.equal((await git(['rev-parse', 'HEAD~1'])).code, 128, 'nothing was committed');
      await okCli(['encrypt', '.env.local']);
      await ok(['add', '.env.local']);
      await ok(['commit', '-q', '-m', 'encrypted']);
    });

    it('checks what is staged, not the working file', async () => {
      await write('.env.prod', 'TOKEN=plain-secret\n');
      await ok(['add', '.env.prod']);
      await okCli(['encrypt', '.env.prod']); // encrypted on disk, but the staged blob is plaintext
      const r = await cli(['check', '--staged']);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /\.env\.prod: not encrypted/);
    });

    it('refuses an encrypted file with a value in clear, and patterns come from the user\'s git config', async () => {
      await write('.env', (await read('.env')).replace(/^API_KEY=.*$/m, 'API_KEY=pasted-in-clear'));
      await write('secrets.txt', 'password=hunter2\n');
      await ok(['config', '--add', 'kms-envelope.pattern', 'secrets.txt']);
      await ok(['add', '.env', 'secrets.txt']);
      const r = await cli(['check', '--staged']);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /\.env: broken encrypted file: entry API_KEY \(line \d+\) is not encrypted/);
      assert.match(r.stderr, /secrets\.txt: not encrypted/);
    });
  });

  describe('git setup', () => {
    it('is idempotent, keeps an existing hook (run first), and --undo leaves the repository as before', async () => {
      const fresh = await fs.mkdtemp(path.join(sb.dir, 'setup-'));
      repo = fresh;
      await ok(['init', '-q', '-b', 'main']);
      await write('notes.txt', 'not a secret\n');
      await write('blob.bin', 'whole\n');
      await okCli(['encrypt', 'blob.bin']);
      await write('.git/hooks/pre-commit', '#!/bin/sh\necho theirs-hook-ran > "$(git rev-parse --git-dir)/hook-ran"\n');
      await fs.chmod(at('.git/hooks/pre-commit'), 0o755);
      const snapshot = async () => ({
        config: await read('.git/config'),
        hooks: (await fs.readdir(at('.git/hooks'))).sort(),
        hook: await read('.git/hooks/pre-commit'),
        attributes: await read('.gitattributes').catch(() => null),
      });
      const before = await snapshot();

      const first = await okCli(['git', 'setup']);
      assert.match(first.stderr, /created \.gitattributes/);
      assert.match(first.stderr, /your hook runs first/);
      const attributes = await read('.gitattributes');
      for (const p of ['.env', '.env.*', '*.env', '/blob.bin']) assert.ok(attributes.includes(`\n${p} diff=kms-envelope merge=kms-envelope -text\n`), attributes);
      assert.match(await ok(['check-attr', 'diff', 'merge', 'text', '--', '.env.production']), /diff: kms-envelope\n.*merge: kms-envelope\n.*text: unset/);
      assert.match(await ok(['config', '--get', 'diff.kms-envelope.textconv']), / textconv\n$/);
      assert.match(await ok(['config', '--get', 'merge.kms-envelope.driver']), / merge --marker-size %L %O %A %B %P\n$/);
      const configured = await snapshot();

      const second = await okCli(['git', 'setup']);
      assert.match(second.stderr, /nothing changed/);
      assert.deepEqual(await snapshot(), configured);

      await ok(['add', 'notes.txt']);
      await ok(['commit', '-q', '-m', 'notes']);
      assert.equal((await read('.git/hook-ran')).trim(), 'theirs-hook-ran', 'the existing hook still runs');
      await fs.rm(at('.git/hook-ran'));

      const undo = await okCli(['git', 'setup', '--undo']);
      assert.match(undo.stderr, /removed \.gitattributes/);
      assert.deepEqual(await snapshot(), before);
      assert.match((await okCli(['git', 'setup', '--undo'])).stderr, /nothing to undo/);
    });

    it('keeps what the user wrote in .gitattributes and .git/config', async () => {
      await okCli(['git', 'setup', '--undo']);
      await write('.gitattributes', '*.png binary\n');
      await ok(['config', 'user.signingkey', 'ABC']);
      const config = await read('.git/config');
      await okCli(['git', 'setup']);
      assert.match(await read('.gitattributes'), /^\*\.png binary\n# kms-envelope: begin/);
      await okCli(['git', 'setup', '--undo']);
      assert.equal(await read('.gitattributes'), '*.png binary\n');
      assert.equal(await read('.git/config'), config);
    });
  });
});
