/**
 * Reading a dotenvx-encrypted .env for `kms-envelope import` (core/convert/dotenvx.ts), piece by
 * piece: where dotenvx takes a file's private key from, how each value is written back so that
 * dotenv reads exactly it, and what is refused. Values are encrypted here with eciesjs, the
 * library dotenvx encrypts with.
 */
import assert from 'node:assert/strict';
import { parse as parseDotenv } from 'dotenv';
import { encrypt, PrivateKey } from 'eciesjs';
import { decryptDotenvx, dotenvValue, isDotenvx, privateKeyName } from '../../src/core/convert/dotenvx';
import { refusedAs } from '../support/errors';

const key = new PrivateKey();
const other = new PrivateKey();
const sealed = (value: string, to = key) => `encrypted:${Buffer.from(encrypt(to.publicKey.toHex(), Buffer.from(value, 'utf8'))).toString('base64')}`;

describe('dotenvx import', () => {
  it('takes the private key from the variable dotenvx reads for the file\'s name', () => {
    const cases: [string, string][] = [
      ['.env', 'DOTENV_PRIVATE_KEY'],
      ['app/.env', 'DOTENV_PRIVATE_KEY'],
      ['.env.production', 'DOTENV_PRIVATE_KEY_PRODUCTION'],
      ['deploy/.env.ci-eu.west', 'DOTENV_PRIVATE_KEY_CI_EU_WEST'],
      ['prod.env', 'DOTENV_PRIVATE_KEY_PROD'],
      ['secrets', 'DOTENV_PRIVATE_KEY'],
    ];
    for (const [file, name] of cases) assert.equal(privateKeyName(file), name, file);
  });

  it('writes each value so that dotenv reads exactly it back, in the plainest quoting its characters allow', () => {
    const cases: [string, string][] = [
      ['plain_value-1.2:3@x/y+z=w,%^~', 'plain_value-1.2:3@x/y+z=w,%^~'],
      ['', ''],
      ['has space # and hash', "'has space # and hash'"],
      ["it's", `"it's"`],
      ['two\nlines', '"two\\nlines"'],
      ["it's\ntwo", `"it's\\ntwo"`],
      ['say "hi"\nthen\'s', '`say "hi"\nthen\'s`'],
      ['a \\n that is not a break, and \'', '`a \\n that is not a break, and \'`'],
    ];
    for (const [value, written] of cases) {
      assert.equal(dotenvValue(value), written, JSON.stringify(value));
      assert.equal(parseDotenv(`K=${written}\n`).K, value, `dotenv reads ${JSON.stringify(value)} back`);
    }
    assert.throws(() => dotenvValue('`"\'\n'), refusedAs('USAGE', 'a value holds every kind of quote and a line break: dotenv cannot write it back'));
  });

  it('knows a dotenvx file by its public key line or by an encrypted value, and a plain .env for one', () => {
    assert.ok(isDotenvx(`#/ public key\nDOTENV_PUBLIC_KEY_PRODUCTION="02ab"\nA=1\n`));
    assert.ok(isDotenvx(`A=${sealed('x')}\n`));
    assert.ok(!isDotenvx('A=1\nB="encrypted: not base64"\n'));
    assert.ok(!isDotenvx('# DOTENV_PUBLIC_KEY=x is only a comment\nA=1\n'));
  });

  it('decrypts every encrypted value with the first key of the variable that opens it, keeps plain values, and leaves dotenvx\'s own lines out', () => {
    const text = `#/ dotenvx banner\nDOTENV_PUBLIC_KEY="${key.publicKey.toHex()}"\nA=${sealed('alpha')}\nPLAIN=kept as is\nB=${sealed("it's\nmultiline")}\n`;
    const env = { DOTENV_PRIVATE_KEY: ` ${other.toHex()} , ${key.toHex()} ,` };
    const plain = decryptDotenvx(text, 'app/.env', env);
    assert.equal(plain, `A=alpha\nPLAIN='kept as is'\nB="it's\\nmultiline"\n`);
    assert.deepEqual(parseDotenv(plain), { A: 'alpha', PLAIN: 'kept as is', B: "it's\nmultiline" });
  });

  it('refuses without the key, and names the value no key opens', () => {
    const text = `A=${sealed('alpha')}\n`;
    assert.throws(() => decryptDotenvx(text, '.env.production', {}), refusedAs('CONFIG', '.env.production is encrypted by dotenvx and DOTENV_PRIVATE_KEY_PRODUCTION is not set'));
    assert.throws(() => decryptDotenvx(text, '.env.production', { DOTENV_PRIVATE_KEY_PRODUCTION: ' , ' }), refusedAs('CONFIG', '.env.production is encrypted by dotenvx and DOTENV_PRIVATE_KEY_PRODUCTION is not set'));
    assert.throws(() => decryptDotenvx(text, '.env', { DOTENV_PRIVATE_KEY: other.toHex() }), refusedAs('TAMPERED', '.env: A does not decrypt with DOTENV_PRIVATE_KEY'));
  });
});
