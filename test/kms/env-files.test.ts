import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { KmsKeyProvider } from '../../src/core/kms/aws-kms';
import { encryptFile } from '../../src/core/operations';
import { anyEncrypted, openEnvFiles } from '../../src/core/run-env';
import { LOCAL_ACCOUNT_KEYS } from '../support/accounts';
import { sandboxPerSuite } from '../support/aws-sandbox';
import { refusedAs } from '../support/errors';

/** The env files a debug configuration, task or terminal names, opened in process (issue 12). */
describe('openEnvFiles: encrypted, plain, missing and whole-file env files (local KMS)', function () {
  const box = sandboxPerSuite('env-files-');
  const kms = () => new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS], maxAttempts: 1 });
  const at = box.at;

  it('opens each file as what it is, in order, with one KMS call for the encrypted one', async () => {
    await fs.writeFile(at('.env'), 'DB_PASSWORD=secret-KILO\n');
    await encryptFile(at('.env'), kms(), { keys: [box.sb.keyArn] });
    await fs.writeFile(at('.env.local'), 'PORT=8080\nDEBUG=1\n');
    box.sb.kms.log.length = 0;
    const opened = await openEnvFiles([at('.env.local'), at('.env'), at('.env.missing'), path.join(at('.env.local'), 'sub')], kms());
    assert.deepEqual(opened, [
      { file: at('.env.local'), kind: 'plain', names: ['PORT', 'DEBUG'] },
      { file: at('.env'), kind: 'encrypted', values: { DB_PASSWORD: 'secret-KILO' } },
      { file: at('.env.missing'), kind: 'missing' },
      { file: path.join(at('.env.local'), 'sub'), kind: 'missing' }, // under a file: ENOTDIR, missing too
    ]);
    assert.equal(box.sb.kms.log.filter((r) => r.action === 'Decrypt').length, 1);
    assert.equal(anyEncrypted(opened), true);
    assert.equal(anyEncrypted(opened.filter((f) => f.kind !== 'encrypted')), false);
    assert.equal(anyEncrypted([]), false);
  });

  it('refuses a file encrypted whole, and passes on an error other than a missing file', async () => {
    await fs.writeFile(at('blob.bin'), 'not dotenv at all');
    await encryptFile(at('blob.bin'), kms(), { keys: [box.sb.keyArn] });
    await assert.rejects(openEnvFiles([at('blob.bin')], kms()), refusedAs('USAGE', `${at('blob.bin')} is encrypted whole, not an encrypted .env: it cannot be an env file`));
    await assert.rejects(openEnvFiles([at('blob.bin')], kms()), (e: Error & { hint?: string }) => e.hint === 'Name a .env file, or decrypt this one into a .env.');
    await assert.rejects(openEnvFiles([at('x'.repeat(300))], kms()), (e: NodeJS.ErrnoException) => e.code === 'ENAMETOOLONG');
  });
});
