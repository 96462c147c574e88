import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { openDocument, splitDocument } from '../../src/core/envelope';
import { openFileStream } from '../../src/core/whole-file';
import { unwrapTo } from '../support/fixtures';
import {
  invisible,
  vectors,
  VECTOR_CRLF_PLAINTEXT,
  VECTOR_DOTENV_PLAINTEXT,
  VECTOR_FILE_PLAINTEXT,
  VECTOR_JS_PLAINTEXT,
  VECTOR_JSON_PLAINTEXT,
  VECTOR_YAML_PLAINTEXT,
} from '../support/vectors';

const documented = (): Record<string, string> => {
  const md = readFileSync(path.join(__dirname, '../../docs/FORMAT.md'), 'utf8');
  return Object.fromEntries([...md.matchAll(/```text vector:([\w-]+)\n([\s\S]*?)```/g)].map((m) => [m[1], m[2]]));
};

const open = async (text: string, sidecar?: string) => (await openDocument(splitDocument(text, sidecar)!, unwrapTo())).plaintext;

describe('docs/FORMAT.md test vectors', () => {
  it('each appears once, fenced on lines of its own after a blank line, never inside a sentence', () => {
    const md = readFileSync(path.join(__dirname, '../../docs/FORMAT.md'), 'utf8');
    const names = [...md.matchAll(/```text vector:([\w-]+)/g)].map((m) => m[1]);
    assert.deepEqual(names, [...new Set(names)], 'a vector written twice');
    const fenced = [...md.matchAll(/(?<=\n\n)```text vector:([\w-]+)\n[\s\S]*?\n```(?=\n)/g)].map((m) => m[1]);
    assert.deepEqual(fenced, names, 'a vector whose fence does not stand on lines of its own');
  });

  it('are exactly what the code writes for the fixed data key and IVs', async () => {
    const doc = documented();
    const computed = await vectors();
    assert.deepEqual(Object.keys(doc).sort(), Object.keys(computed).sort());
    for (const name of Object.keys(computed)) assert.equal(doc[name], computed[name], `vector ${name}`);
  });

  it('decrypt back to their plaintexts', async () => {
    const doc = documented();
    assert.equal(await open(doc.dotenv), VECTOR_DOTENV_PLAINTEXT);
    assert.equal(await open(invisible(doc['dotenv-crlf-bom']).slice(0, -1)), VECTOR_CRLF_PLAINTEXT);
    assert.equal(await open(doc['dotenv-two-keys']), 'A=1\n');
    assert.equal(await open(doc['dotenv-empty']), '');
    assert.equal(await open(doc.yaml), VECTOR_YAML_PLAINTEXT);
    assert.equal(await open(doc['js-shebang']), VECTOR_JS_PLAINTEXT);
    const [, body, sidecar] = /^data\.json:\n([\s\S]*?)data\.json\.kms-envelope:\n([\s\S]*)$/.exec(doc['json-sidecar'])!;
    assert.equal(await open(body, sidecar), VECTOR_JSON_PLAINTEXT);
    const opened = await openFileStream((async function* () { yield Buffer.from(doc.file, 'latin1'); })(), unwrapTo());
    const parts: Buffer[] = [];
    for await (const p of opened.plaintext) parts.push(p);
    assert.equal(Buffer.concat(parts).toString(), VECTOR_FILE_PLAINTEXT);
  });
});
