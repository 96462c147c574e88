/**
 * What a file holds, from its first bytes: a module of its own, small, because the editor asks
 * it at startup (decrypt-on-open, the opener) before anything else of kms-envelope is loaded.
 */
import { commentLeader } from './formats/comment-syntax';
import { storeOf } from './header';
import { hasSidecar, readHead } from './io';

export type Kind = 'dotenv' | 'text' | 'file' | 'plain';

/** Whether a file's header lives in a sidecar: only for types without comments. */
export const sidecarApplies = (file: string): boolean => commentLeader(file) === null;

/** What a file holds, from its first bytes and (for types without comments) whether it has a sidecar. */
export async function kindOf(file: string): Promise<Kind> {
  if (sidecarApplies(file) && (await hasSidecar(file))) return 'text';
  return (storeOf(await readHead(file, 400)) as Kind | null) ?? 'plain';
}
