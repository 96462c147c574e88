/**
 * SOPS's binary store: any other file, kept whole as one string value `data` of a JSON document
 * with the `sops` metadata. The plaintext view is the content itself; a save rewrites the `data`
 * value and the MAC only.
 */
import { KmsEnvelopeError } from '../../errors';
import { jsonMetadata, jsonStore, jsonTree, parseJson } from './json';
import type { SopsStore } from './store';

export const binaryStore: SopsStore = {
  ...jsonStore,
  name: 'binary',
  parse(text, name) {
    const root = parseJson(text, name);
    if (!root || root.type !== 'object') throw new KmsEnvelopeError('FORMAT', `${name}: not a SOPS binary file`, 'Restore it from version control.');
    const { branch, sops } = jsonTree(root, text, name);
    const data = branch.items.length === 1 && branch.items[0].kind === 'pair' && branch.items[0].key === 'data' ? branch.items[0].value : undefined;
    if (!data || data.kind !== 'leaf' || data.value?.type !== 'str') throw new KmsEnvelopeError('FORMAT', `${name}: a SOPS binary file holds one string, "data"`, 'Restore it from version control.');
    return { roots: [branch], metadata: sops ? jsonMetadata(sops, text, name) : undefined };
  },
};
