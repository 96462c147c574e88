/**
 * git's merge driver for encrypted files: `kms-envelope merge %O %A %B %P`. git hands over the
 * three versions as files (base, ours, theirs) and expects the result in the second; a non-zero
 * exit marks the path conflicted.
 *
 * `.env` files merge entry by entry (formats/dotenv-merge.ts) on their plaintext, and the result
 * is sealed again under ours' data key, so unchanged values keep their tokens and the merge
 * commit is a small diff; theirs' tokens are kept too where both sides share the data key. A
 * variable changed differently on both sides is written between git's markers with both values
 * as tokens: the file stays a valid encrypted file, which the decrypted view shows with the
 * markers and plaintext values, for a person to resolve and save.
 *
 * What is not merged, with ours kept as it was and the path left conflicted:
 * - a side that is not encrypted while another is: its values are not authenticated, and merging
 *   them would seal a committer's text as if a key holder had written it;
 * - a side that does not verify, or whose keys are not allowed;
 * - whole files and token-bearing text files changed on both sides (no entries to merge by).
 *
 * Keys: when only theirs rotated the data key since the base (a key may have been removed), the
 * result is sealed under theirs' key instead, so that the merge does not undo the rotation; when
 * both sides share a data key, stanzas added on either side are kept.
 */
import { equalBytes } from '../bytes';
import { FileKey, joinSealed, makeFileKey, MAX_TEXT_BYTES, sealDotenv, wipeFileKey } from '../envelope';
import { KmsEnvelopeError } from '../errors';
import { isDotenvName } from '../formats/comment-syntax';
import { mergeDotenv, MergeLabels } from '../formats/dotenv-merge';
import { LIMITS, Stanza, storeOfBytes } from '../header';
import { atomicWrite, decodeUtf8, readBounded } from '../io';
import type { KeyService } from '../kms/key-service';
import { openText, OpenedText } from '../operations';
import { ReuseMap } from '../reuse';
import { sealable } from '../retired';
import { GitError, gitBytes } from './git';
import { sopsStoreOfBytes } from '../sops/detect';
import { mergeSops, OpenableStore, openableStore } from '../sops';

export interface MergeFiles {
  readonly base: string;
  /** Also where the result goes. */
  readonly ours: string;
  readonly theirs: string;
  /** The path in the repository (for messages and to tell a `.env`). */
  readonly path: string;
}

export interface MergeOutcome {
  /** Whether the result is complete (exit 0) or left for a person (exit 1). */
  readonly clean: boolean;
  /** Variables written between conflict markers. */
  readonly conflicts: string[];
  /** What to tell the user (stderr), if anything. */
  readonly message?: string;
}

const MAX_MERGE_BYTES = 256 * 1024 * 1024;
/**
 * A merge by variable compares entries (a diff3, superlinear in their number): past these, a side
 * is not merged by variable, ours is kept and the path left conflicted, so that a committer's
 * large reordered `.env` cannot make a merge spin. The bytes are every text reader's limit.
 */
export const MAX_MERGE_LINES = 10_000;
const MAX_DOTENV_MERGE_BYTES = MAX_TEXT_BYTES;

interface Side {
  readonly label: 'base' | 'ours' | 'theirs';
  /** The path and the label, as messages name the side. */
  readonly name: string;
  readonly bytes: Buffer;
  readonly encrypted: boolean;
  opened?: OpenedText;
}

const keep = (message: string): MergeOutcome => ({ clean: false, conflicts: [], message });

export async function mergeEncrypted(files: MergeFiles, svc: KeyService, labels: MergeLabels): Promise<MergeOutcome> {
  const [o, a, b] = await Promise.all([files.base, files.ours, files.theirs].map((f) => readBounded(f, MAX_MERGE_BYTES)));
  if (a.equals(b) || o.equals(b)) return { clean: true, conflicts: [] };
  if (o.equals(a)) {
    await atomicWrite(files.ours, b);
    return { clean: true, conflicts: [] };
  }
  const sops = [o, a, b].map((bytes) => (storeOfBytes(bytes) === null ? sopsStoreOf(bytes, files.path) : undefined));
  if (sops.some(Boolean)) return mergeSopsFiles(files, [o, a, b], sops, svc);
  const sides: Side[] = ([['base', o], ['ours', a], ['theirs', b]] as const).map(([label, bytes]) => ({ label, name: `${files.path} (${label})`, bytes, encrypted: storeOfBytes(bytes) !== null }));
  const [base, ours, theirs] = sides;
  const big = isDotenvName(files.path) ? sides.find((x) => x.bytes.length > MAX_DOTENV_MERGE_BYTES || lineCount(x.bytes) > MAX_MERGE_LINES) : undefined;
  if (big) {
    return keep(`${big.name} is too large to merge by variable (more than ${MAX_MERGE_LINES.toLocaleString('en-US')} lines or ${MAX_DOTENV_MERGE_BYTES / 1024 / 1024} MiB); kept ours. Merge it by hand in the decrypted view, then \`git add\` it.`);
  }

  if (!sides.some((s) => s.encrypted)) {
    if (!isDotenvName(files.path)) return mergeFileFallback(files, labels);
    const merged = mergeDotenv(...(sides.map((s) => decodeUtf8(s.bytes, s.name)) as [string, string, string]), labels);
    await atomicWrite(files.ours, merged.text);
    return { clean: merged.conflicts.length === 0, conflicts: merged.conflicts };
  }
  if (!isDotenvName(files.path)) {
    return keep(`${files.path}: both sides changed a file encrypted whole (or as text with encrypted selections); kept ours. Take theirs with \`git checkout --theirs -- ${files.path}\`, or merge by hand in the decrypted views, then \`git add\` it.`);
  }
  const plainSide = [ours, theirs].find((s) => !s.encrypted);
  if (plainSide) {
    return keep(
      `${files.path}: ${plainSide.label} is not encrypted while the other side is; its values are not authenticated, so they were not merged in (kept ours). Review \`git diff ${plainSide.label === 'ours' ? 'MERGE_HEAD' : 'HEAD'} -- ${files.path}\`, set the values you want in the decrypted view, save and \`git add\` it.`,
    );
  }

  const keys: FileKey[] = [];
  try {
    for (const s of sides) {
      if (!s.encrypted) continue;
      s.opened = await openText(decodeUtf8(s.bytes, s.name), svc, s.name).catch((err: unknown) => {
        throw naming(s.name, err);
      });
      keys.push(s.opened.key);
      if (s.opened.store !== 'dotenv') return keep(`${s.name} is not an encrypted .env (store "${s.opened.store}"); kept ours.`);
    }
    // (every side `same` is given has been opened: ours and theirs always, base when it is encrypted)
    const same = (x: Side, y: Side) => equalBytes(x.opened!.doc.header.commitment, y.opened!.doc.header.commitment);
    const theirsRotated = base.encrypted && same(ours, base) && !same(theirs, base);
    const [main, other] = theirsRotated ? [theirs.opened!, ours.opened!] : [ours.opened!, theirs.opened!];
    const shared = same(ours, theirs);
    const stanzas: Stanza[] = [...main.key.stanzas];
    if (shared) for (const s of other.key.stanzas) if (!stanzas.some((t) => t.keyArn === s.keyArn) && stanzas.length < LIMITS.stanzas) stanzas.push(s);
    const key = makeFileKey(Buffer.from(main.key.dek), stanzas, main.key.context);
    keys.push(key);
    const reuse = shared ? ReuseMap.concat(other.reuse, main.reuse) : main.reuse;

    const plaintext = (s: Side) => s.opened?.plaintext ?? decodeUtf8(s.bytes, s.name);
    const merged = mergeDotenv(plaintext(base), plaintext(ours), plaintext(theirs), labels);
    // a rolled-back side (a retired data key) or a key outside the allow-list: no new values under it
    await sealable(files.path, key, svc);
    await atomicWrite(files.ours, joinSealed(sealDotenv(merged.text, key, { layout: main.layout, reuse })));
    const note = theirsRotated ? `${files.path}: theirs rotated the data key; the result is sealed under theirs' key` : undefined;
    return { clean: merged.conflicts.length === 0, conflicts: merged.conflicts, message: note };
  } finally {
    keys.forEach(wipeFileKey);
  }
}

/** The SOPS store of a version, judged by its metadata (as kindOf does). */
function sopsStoreOf(bytes: Buffer, name: string): OpenableStore | undefined {
  if (!sopsStoreOfBytes(bytes, name)) return undefined;
  return openableStore(decodeUtf8(bytes, name), name);
}

/** A SOPS file merged value by value (sops/merge.ts); a side that is not SOPS while another is keeps ours. */
async function mergeSopsFiles(files: MergeFiles, bytes: Buffer[], stores: (OpenableStore | undefined)[], svc: KeyService): Promise<MergeOutcome> {
  const labels = ['base', 'ours', 'theirs'];
  const missing = stores.findIndex((s) => !s);
  if (missing >= 0) {
    return keep(`${files.path}: ${labels[missing]} is not a SOPS file while another side is; kept ours. Merge it by hand in the decrypted view (VS Code) or with sops, then \`git add\` it.`);
  }
  const [base, ours, theirs] = bytes.map((b, i) => ({ name: `${files.path} (${labels[i]})`, text: decodeUtf8(b, files.path), store: stores[i]! }));
  const result = await mergeSops(base, ours, theirs, svc, files.path);
  if (result.text === undefined) return { clean: false, conflicts: result.conflicts, message: result.message };
  await atomicWrite(files.ours, result.text);
  return { clean: true, conflicts: [], message: result.message };
}

const lineCount = (bytes: Buffer): number => {
  let n = 0;
  // Stryker disable next-line ConditionalExpression: equivalent — counting on past the limit only costs time; the answer is still over it
  for (let i = bytes.indexOf(10); i !== -1 && n <= MAX_MERGE_LINES; i = bytes.indexOf(10, i + 1)) n++;
  return n;
};

/** An error about one side that does not say which (a broken header, a tampered value), naming it. */
function naming(side: string, err: unknown): unknown {
  if (!(err instanceof KmsEnvelopeError) || err.message.startsWith(side)) return err;
  return new KmsEnvelopeError(err.code, `${side}: ${err.message}`, err.hint, err.profile);
}

/** A file that is plain on every side and no `.env`: git's own line merge, as if no driver were set. */
async function mergeFileFallback(files: MergeFiles, labels: MergeLabels): Promise<MergeOutcome> {
  // Stryker disable next-line StringLiteral: equivalent — merge-file prints the base's label only in the diff3 style, which is not asked for
  const args = ['merge-file', `--marker-size=${labels.markerSize ?? 7}`, '-L', labels.ours, '-L', 'base', '-L', labels.theirs, files.ours, files.base, files.theirs];
  try {
    await gitBytes(args, { cwd: process.cwd() });
    return { clean: true, conflicts: [] };
  } catch (err) {
    // conflicts: git merge-file exits with their number (capped at 127); its failures exit 255 (a binary file) or 129 (usage)
    // Stryker disable next-line EqualityOperator,ConditionalExpression: equivalent — exit 0 is success, never an error; and git exits 128 only for die(), which merge-file does not call
    if (err instanceof GitError && err.exitCode > 0 && err.exitCode < 128) return { clean: false, conflicts: [] };
    throw err;
  }
}
