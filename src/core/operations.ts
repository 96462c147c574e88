/**
 * What the CLI, the Node API and the extension do to files: encrypt, open, decrypt, rotate,
 * rewrap. Each composes the envelope (pure), a KeyService (KMS) and atomic I/O, and leaves
 * the file byte-for-byte as it was on any failure (nothing is written until all has worked).
 */
import { createReadStream, promises as fs } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { Random } from './cipher';
import {
  assemble,
  Document,
  FileKey,
  joinSealed,
  makeFileKey,
  Opened,
  openDocument,
  reencryptTokens,
  sealDotenv,
  splitDocument,
  Unwrap,
  wipeFileKey,
} from './envelope';
import { KmsEnvelopeError } from './errors';
import { isDotenvName, SIDECAR_SUFFIX } from './formats/comment-syntax';
import { setVariable } from './formats/dotenv-set';
import { defaultContext, EncryptionContext, Header, HeaderLayout, parseHeader, serializeHeader, Stanza, storeOf } from './header';
import { atomicWrite, Content, readHead, readSidecar } from './io';
import type { KeyService } from './kms/key-service';
import { openFileStream, sealFileStream } from './whole-file';

export interface EncryptOptions {
  /** KMS keys (ARN, id or alias) to wrap the data key for; the first makes it. */
  readonly keys: readonly string[];
  /** Pairs added to the default encryption context. */
  readonly context?: EncryptionContext;
  readonly random?: Random;
}

/** The layout a new header takes in a text: its line ending, so CRLF files stay CRLF. */
export const layoutFor = (text: string, leader: HeaderLayout['leader'] = '#'): HeaderLayout => {
  const nl = text.indexOf('\n');
  return { leader, eol: nl > 0 && text[nl - 1] === '\r' ? '\r\n' : '\n' };
};

export async function newFileKey(svc: KeyService, opts: EncryptOptions): Promise<FileKey> {
  const context = defaultContext(opts.context);
  const { dek, stanzas } = await svc.generate(opts.keys, context);
  return makeFileKey(dek, stanzas, context);
}

const notEncrypted = (file: string): KmsEnvelopeError =>
  new KmsEnvelopeError('NOT_ENCRYPTED', `${file} is not encrypted by kms-envelope`, 'Encrypt it first (kms-envelope encrypt, or KMS Envelope: Encrypt File).');

export type Kind = 'dotenv' | 'text' | 'file' | 'plain';

/** What a file holds, from its first bytes and its sidecar. */
export async function kindOf(file: string): Promise<Kind> {
  if (await readSidecar(file)) return 'text';
  return (storeOf(await readHead(file, 400)) as Kind | null) ?? 'plain';
}

/** The Unwrap the envelope needs, served by a key provider. */
export const unwrapper =
  (svc: KeyService): Unwrap =>
  async (header) =>
    (await svc.unwrapWith(header)).dek;

/** Encrypts a plaintext file in place: values of a .env, the whole of anything else. */
export async function encryptFile(file: string, svc: KeyService, opts: EncryptOptions): Promise<Kind> {
  if ((await kindOf(file)) !== 'plain') {
    throw new KmsEnvelopeError('ALREADY_ENCRYPTED', `${file} is already encrypted`, 'Use rotate for a new data key, or rewrap to change keys.');
  }
  const text = isDotenvName(file) ? await fs.readFile(file, 'utf8') : undefined;
  const key = await newFileKey(svc, opts);
  try {
    if (text !== undefined) {
      await atomicWrite(file, joinSealed(sealDotenv(text, key, { layout: layoutFor(text), random: opts.random })));
      return 'dotenv';
    }
    await atomicWrite(file, sealFileStream(createReadStream(file), key, opts.random));
    return 'file';
  } finally {
    wipeFileKey(key);
  }
}

export interface OpenedText extends Opened {
  readonly doc: Document;
  /** Whether the header lives in a sidecar file. */
  readonly sidecar: boolean;
}

/** Decrypts a `.env` or token-bearing text file in memory (1 KMS call, 0 with a warm cache). */
export async function openTextFile(file: string, svc: KeyService): Promise<OpenedText> {
  const sidecar = await readSidecar(file);
  return openText(await fs.readFile(file, 'utf8'), svc, file, sidecar);
}

export async function openText(text: string, svc: KeyService, name: string, sidecar?: string): Promise<OpenedText> {
  const doc = splitDocument(text, sidecar);
  if (!doc) throw notEncrypted(name);
  if (doc.header.store === 'file') throw new KmsEnvelopeError('USAGE', `${name} is encrypted whole, not as text`, 'Use kms-envelope decrypt.');
  const opened = await openDocument(doc, unwrapper(svc));
  return { ...opened, doc, sidecar: sidecar !== undefined };
}

export type Output = { readonly kind: 'in-place' } | { readonly kind: 'file'; readonly path: string } | { readonly kind: 'stream'; readonly stream: NodeJS.WritableStream };

async function emit(out: Output, file: string, content: Content): Promise<void> {
  if (out.kind === 'stream') {
    if (typeof content === 'string' || content instanceof Uint8Array) out.stream.write(content);
    else for await (const chunk of content) out.stream.write(chunk);
    return;
  }
  await atomicWrite(out.kind === 'file' ? out.path : file, content);
}

/** Writes the plaintext of an encrypted file (in place, to another file, or to a stream). */
export async function decryptFile(file: string, svc: KeyService, out: Output): Promise<Kind> {
  const kind = await kindOf(file);
  if (kind === 'plain') throw notEncrypted(file);
  if (kind === 'file') {
    const opened = await openFileStream(createReadStream(file), unwrapper(svc));
    try {
      await emit(out, file, opened.plaintext);
    } finally {
      wipeFileKey(opened.key);
    }
    return kind;
  }
  const opened = await openTextFile(file, svc);
  wipeFileKey(opened.key);
  await emit(out, file, opened.plaintext);
  if (out.kind === 'in-place' && opened.sidecar) await fs.unlink(file + SIDECAR_SUFFIX);
  return kind;
}

/**
 * The variables of encrypted (or plain) `.env` files, exactly as `dotenv.parse` reads the
 * plaintext; later files win.
 */
export async function loadEnvFiles(files: readonly string[], svc: KeyService): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const file of files) {
    const text = await fs.readFile(file, 'utf8');
    if (!parseHeader(text)) {
      Object.assign(env, parseDotenv(text));
      continue;
    }
    const opened = await openText(text, svc, file);
    wipeFileKey(opened.key);
    if (opened.store !== 'dotenv') throw new KmsEnvelopeError('USAGE', `${file} is not an encrypted .env file`);
    Object.assign(env, parseDotenv(opened.plaintext));
  }
  return env;
}

/**
 * The keys a new data key may be wrapped for: those the user names now, plus those of the
 * header that the allow-list accepts. Keys named only by the file are left out, and reported.
 */
export function wrappingTargets(header: Pick<Header, 'stanzas'>, svc: KeyService, explicit: readonly string[]): { keys: string[]; refused: string[] } {
  const keep = header.stanzas.filter((s) => svc.allowsForWrapping(s.keyArn)).map((s) => s.alias ?? s.keyArn);
  const refused = header.stanzas.filter((s) => !svc.allowsForWrapping(s.keyArn)).map((s) => s.keyArn);
  const keys = [...new Set([...explicit, ...keep])];
  if (keys.length === 0) {
    throw new KmsEnvelopeError(
      'KEY_NOT_ALLOWED',
      `none of the keys this file names is in the allow-list (${refused.join(', ')})`,
      'Name the key to use (--key, or the kmsEnvelope.keyId setting), or add the file\'s keys to the allow-list.',
    );
  }
  return { keys, refused };
}

export interface RotateResult {
  readonly refused: string[];
  readonly keys: string[];
}

/** A new data key for the file; every value (or the whole payload) is encrypted again. */
export async function rotateFile(file: string, svc: KeyService, opts: { keys?: readonly string[]; random?: Random }): Promise<RotateResult> {
  const kind = await kindOf(file);
  if (kind === 'plain') throw notEncrypted(file);
  if (kind === 'file') {
    const source = createReadStream(file);
    const opened = await openFileStream(source, unwrapper(svc));
    try {
      const targets = wrappingTargets(opened.header, svc, opts.keys ?? []);
      const key = await newFileKey(svc, { keys: targets.keys, context: opened.header.context });
      try {
        await atomicWrite(file, sealFileStream(opened.plaintext, key, opts.random));
      } finally {
        wipeFileKey(key);
      }
      return targets;
    } finally {
      wipeFileKey(opened.key);
      source.destroy();
    }
  }
  const opened = await openTextFile(file, svc);
  try {
    const targets = wrappingTargets(opened.doc.header, svc, opts.keys ?? []);
    const key = await newFileKey(svc, { keys: targets.keys, context: opened.doc.header.context });
    try {
      if (opened.store === 'dotenv') {
        await atomicWrite(file, joinSealed(sealDotenv(opened.plaintext, key, { layout: opened.layout, random: opts.random })));
      } else {
        const sealed = assemble('text', key, reencryptTokens(opened.doc.body, opened.key, key, opts.random), opened.layout, opened.doc.prefix);
        // Two files are two atomic writes: a crash between them leaves a header that does not
        // match the body (refused on open, recoverable from version control), never plaintext.
        if (opened.sidecar) await atomicWrite(file + SIDECAR_SUFFIX, sealed.header);
        await atomicWrite(file, opened.sidecar ? sealed.body : joinSealed(sealed));
      }
    } finally {
      wipeFileKey(key);
    }
    return targets;
  } finally {
    wipeFileKey(opened.key);
  }
}

/**
 * Sets one variable of an encrypted `.env` (1 KMS call to unwrap, 0 with a warm cache): every
 * other value keeps its ciphertext byte for byte.
 */
export async function setEnvValue(file: string, svc: KeyService, name: string, value: string): Promise<void> {
  const opened = await openTextFile(file, svc);
  try {
    if (opened.store !== 'dotenv') throw new KmsEnvelopeError('USAGE', `${file} is not an encrypted .env file`);
    const text = setVariable(opened.plaintext, name, value);
    await atomicWrite(file, joinSealed(sealDotenv(text, opened.key, { layout: opened.layout, reuse: opened.reuse })));
  } finally {
    wipeFileKey(opened.key);
  }
}

/** Adds a stanza (KMS ReEncrypt, the data key stays inside KMS) or removes one. */
export async function rewrapFile(file: string, svc: KeyService, change: { add?: string; remove?: string }): Promise<Stanza[]> {
  const kind = await kindOf(file);
  if (kind === 'plain') throw notEncrypted(file);
  const sidecar = await readSidecar(file);
  const headerSource = sidecar ?? (await readHead(file, 256 * 1024));
  const parsed = parseHeader(headerSource);
  if (!parsed) throw notEncrypted(file);
  let stanzas = [...parsed.header.stanzas];
  if (change.remove) {
    stanzas = stanzas.filter((s) => s.keyArn !== change.remove && s.alias !== change.remove);
    if (stanzas.length === parsed.header.stanzas.length) throw new KmsEnvelopeError('USAGE', `the file has no stanza for ${change.remove}`);
    if (stanzas.length === 0) throw new KmsEnvelopeError('USAGE', 'cannot remove the last key: nobody could decrypt the file', 'Add another key first.');
  }
  if (change.add) {
    const { via } = await svc.unwrapWith(parsed.header); // proves we can read the file before widening access
    const added = await svc.reEncrypt(via, change.add, parsed.header.context);
    if (stanzas.some((s) => s.keyArn === added.keyArn)) throw new KmsEnvelopeError('USAGE', `the file is already wrapped for ${added.keyArn}`);
    stanzas.push(added);
  }
  const header = serializeHeader({ ...parsed.header, stanzas }, parsed.layout);
  if (sidecar !== undefined) {
    await atomicWrite(file + SIDECAR_SUFFIX, header);
  } else if (kind === 'file') {
    await atomicWrite(file, (async function* () {
      yield Buffer.from(header, 'utf8');
      yield* createReadStream(file, { start: Buffer.byteLength(headerSource.slice(0, parsed.headerEnd), 'utf8') });
    })());
  } else {
    const text = await fs.readFile(file, 'utf8');
    await atomicWrite(file, parsed.prefix + header + text.slice(parsed.headerEnd));
  }
  return stanzas;
}
