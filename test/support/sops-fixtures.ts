/**
 * Files the `sops` CLI wrote (the sops repository's functional-test fixtures, MPL-2.0 test data,
 * copied unchanged into test/fixtures/sops), made readable by the local KMS: their data key is
 * unwrapped with the sops project's public test PGP key by Debian's gpg, wrapped by the local KMS
 * (Encrypt), and added as a `kms` recipient. Values, MAC and lastmodified are not touched (SOPS
 * leaves recipients out of the MAC), so what the product reads is exactly what sops wrote.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { parse } from 'yaml';

export const FIXTURES = path.join(__dirname, '..', 'fixtures', 'sops');
export const fixture = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');

/** The PGP-wrapped data key of a fixture, unwrapped by gpg with the sops test key (fails loudly without gpg). */
export function pgpDataKey(text: string, store: 'yaml' | 'json' | 'dotenv' | 'ini'): Buffer {
  const iniEnc = (): string => {
    const m = /^pgp__list_0__map_enc *= *("{3}[\s\S]*?"{3}|.*)$/m.exec(text)![1];
    return m.startsWith('"'.repeat(3)) ? m.slice(3, -3) : m.replace(/\\n/g, '\n');
  };
  const enc =
    store === 'yaml' ? parse(text).sops.pgp[0].enc : store === 'json' ? JSON.parse(text).sops.pgp[0].enc : store === 'ini' ? iniEnc() : /^sops_pgp__list_0__map_enc=(.*)$/m.exec(text)![1].replace(/\\n/g, '\n');
  const home = mkdtempSync(path.join(tmpdir(), 'kms-envelope-gpg-'));
  try {
    const env = { ...process.env, GNUPGHOME: home };
    execFileSync('gpg', ['--batch', '--quiet', '--import', path.join(FIXTURES, 'sops_functional_tests_key.asc')], { env, stdio: 'ignore' });
    return execFileSync('gpg', ['--batch', '--quiet', '--decrypt'], { env, input: enc, stdio: ['pipe', 'pipe', 'ignore'] });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** The data key wrapped by the local KMS for `keyArn` (its SDK client reads the sandbox's environment). */
export async function kmsWrap(dataKey: Buffer, keyArn: string, context?: Record<string, string>): Promise<string> {
  const out = await new KMSClient({}).send(new EncryptCommand({ KeyId: keyArn, Plaintext: dataKey, EncryptionContext: context }));
  return Buffer.from(out.CiphertextBlob!).toString('base64');
}

/** The text with one more `kms` recipient, written the way sops writes it in each store. */
export function withKmsRecipient(text: string, store: 'yaml' | 'json' | 'dotenv' | 'ini', arn: string, enc: string, context?: Record<string, string>): string {
  const at = '2026-12-01T00:00:00Z';
  if (store === 'ini') return text.replace('[sops]\n', `[sops]\nkms__list_0__map_arn = ${arn}\nkms__list_0__map_aws_profile = \nkms__list_0__map_created_at = ${at}\nkms__list_0__map_enc = ${enc}\n`);
  if (store === 'dotenv') {
    const ctx = Object.entries(context ?? {}).map(([k, v]) => `sops_kms__list_0__map_context__map_${k}=${v}\n`).join('');
    return `${text}sops_kms__list_0__map_arn=${arn}\nsops_kms__list_0__map_aws_profile=\n${ctx}sops_kms__list_0__map_created_at=${at}\nsops_kms__list_0__map_enc=${enc}\n`;
  }
  if (store === 'json') {
    const entry = JSON.stringify({ arn, aws_profile: '', ...(context ? { context } : {}), created_at: at, enc });
    return text.replace('"sops": {', `"sops": {\n\t\t"kms": [${entry}],`);
  }
  const ctx = context ? `          context:\n${Object.entries(context).map(([k, v]) => `            ${k}: ${v}\n`).join('')}` : '';
  const entry = `    kms:\n        - arn: ${arn}\n          aws_profile: ""\n${ctx}          created_at: "${at}"\n          enc: ${enc}\n`;
  return /^ {4}kms: \[\]\n/m.test(text) ? text.replace(/^ {4}kms: \[\]\n/m, entry) : text.replace(/^sops:\n/m, `sops:\n${entry}`);
}

/**
 * A SOPS file with the given plaintext, grown from a fixture the sops CLI wrote: its data key (and
 * so its PGP recipient) kept, a local-KMS recipient added, the values sealed by the product.
 */
export async function sopsSample(base: string, store: 'yaml' | 'json' | 'dotenv', plaintext: string, keyArn: string): Promise<string> {
  const { openSops, sealSops } = await import('../../src/core/sops/document');
  const original = fixture(base);
  const dataKey = pgpDataKey(original, store);
  const text = withKmsRecipient(original, store, keyArn, await kmsWrap(dataKey, keyArn));
  const opened = await openSops(text, store, base, async () => Buffer.from(dataKey));
  try {
    return sealSops(opened, plaintext, base);
  } finally {
    opened.key.fill(0);
  }
}
