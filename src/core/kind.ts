/**
 * What a file holds, from its first bytes (a kms-envelope header) or its last (SOPS metadata): a
 * module of its own, small, because the editor asks it at startup (decrypt-on-open, the opener)
 * before anything else of kms-envelope is loaded.
 */
import { commentLeader } from './formats/comment-syntax';
import { storeOf } from './header';
import { hasSidecar, readEnds } from './io';
import { SOPS_TAIL_BYTES, sopsStoreOfText } from './sops/detect';

export type Kind = 'dotenv' | 'text' | 'file' | 'sops' | 'plain';

/** Whether a file's header lives in a sidecar: only for types without comments. */
export const sidecarApplies = (file: string): boolean => commentLeader(file) === null;

/** What a file holds, from its first bytes, its last (SOPS) and (for types without comments) whether it has a sidecar. */
export async function kindOf(file: string): Promise<Kind> {
  if (sidecarApplies(file) && (await hasSidecar(file))) return 'text';
  const { head, tail } = await readEnds(file, 400, SOPS_TAIL_BYTES);
  const store = storeOf(head) as Kind | null;
  if (store) return store;
  return sopsStoreOfText(tail, file) ? 'sops' : 'plain';
}
