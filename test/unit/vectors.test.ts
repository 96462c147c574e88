import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { openDocument, splitDocument } from '../../src/core/envelope';
import { unwrapTo } from '../support/fixtures';
import { vectors, VECTOR_DOTENV_PLAINTEXT, VECTOR_YAML_PLAINTEXT } from '../support/vectors';

const documented = (): Record<string, string> => {
  const md = readFileSync(path.join(__dirname, '../../docs/FORMAT.md'), 'utf8');
  return Object.fromEntries([...md.matchAll(/```text vector:(\w+)\n([\s\S]*?)```/g)].map((m) => [m[1], m[2]]));
};

describe('docs/FORMAT.md test vectors', () => {
  it('are exactly what the code writes for the fixed data key and IVs', async () => {
    const doc = documented();
    const computed = await vectors();
    assert.deepEqual(Object.keys(doc).sort(), Object.keys(computed).sort());
    for (const name of Object.keys(computed)) assert.equal(doc[name], computed[name], `vector ${name}`);
  });

  it('decrypt back to their plaintexts', async () => {
    const doc = documented();
    assert.equal((await openDocument(splitDocument(doc.dotenv)!, unwrapTo())).plaintext, VECTOR_DOTENV_PLAINTEXT);
    assert.equal((await openDocument(splitDocument(doc.yaml)!, unwrapTo())).plaintext, VECTOR_YAML_PLAINTEXT);
  });
});
