/**
 * The decrypted view: a FileSystemProvider on the `kms-envelope` scheme that mirrors `file:`
 * paths. Reading decrypts (one KMS call, none while the data key is cached); writing
 * re-encrypts in memory with the data key kept for the open view (no KMS call) and replaces
 * the file atomically; unchanged values keep their ciphertext. Plaintext exists only in this
 * process's memory. Modelled on the VS Code samples' fsprovider-sample.
 */
import { promises as fs, watch, FSWatcher } from 'node:fs';
import path = require('node:path');
import vscode = require('vscode');
import { FileKey, joinSealed, openDocument, sealDotenvPausing, splitDocument, wipeFileKey } from '../core/envelope';
import { ReuseMap } from '../core/reuse';
import { equalBytes } from '../core/bytes';
import { isKmsEnvelopeError, KmsEnvelopeError } from '../core/errors';
import { HeaderLayout, MAX_HEADER_BYTES, parseHeader, Store } from '../core/header';
import { atomicWrite, decodeUtf8, readHead, readPieces } from '../core/io';
import { sealable } from '../core/retired';
import { kindOf, openText, readTextFile, unwrapper } from '../core/operations';
import { openFileStream, sealFileStream, WHOLE_FILE_READ_BYTES } from '../core/whole-file';
import type { KeyService } from '../core/kms/key-service';
import { HostTime } from './host-time';
import { fileOf, toFile } from './view-uri';
import { OpenableStore, openSops, readBack, readSopsFile, sealSops, SopsOpened, sopsSealable, sopsUnwrap, wipeSops } from '../core/sops';


/** How soon a change on disk is verified (a burst of events is one check). */
const CHECK_AFTER_CHANGE_MS = 150;

/** The largest encrypted file the view opens: its plaintext lives in the extension host's memory. */
const MAX_VIEW_BYTES = 64 * 1024 * 1024;

interface ViewState {
  plaintext: Uint8Array;
  /** mtime of the encrypted file when the plaintext was read or written. */
  mtime: number;
  /** Why the file on disk, changed since, is refused (it does not verify): the view is not saved over it. */
  refused?: string;
}

/** A view of a kms-envelope file. */
interface OwnSession extends ViewState {
  readonly store: Store;
  readonly key: FileKey;
  reuse: ReuseMap;
  readonly layout: HeaderLayout;
}

/** A view of a SOPS file (core/sops): the file as read, its data key and the IVs of its values. */
interface SopsSession extends ViewState {
  readonly store: 'sops';
  opened: SopsOpened;
}

type Session = OwnSession | SopsSession;

const wipeSession = (s: Session): void => (s.store === 'sops' ? wipeSops(s.opened) : wipeFileKey(s.key));

export class DecryptedFs implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly sessions = new Map<string, Session>();
  private readonly opening = new Map<string, Promise<Session>>();
  private readonly emitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.emitter.event;

  /** Files a command asked to open (explicit, so allowed outside the workspace or without trust). */
  private readonly requested = new Set<string>();

  constructor(
    private readonly keys: () => KeyService,
    private readonly withProgress: <T>(title: string, task: () => Promise<T>) => Promise<T>,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** A command's explicit request to open this file decrypted. */
  allow(file: string): void {
    this.requested.add(file);
  }

  /**
   * A `kms-envelope:` URI can come from anywhere (a restored tab, a link): without a command,
   * only files of a trusted workspace's folders are decrypted.
   */
  private mayOpen(file: string): boolean {
    if (this.requested.has(file)) return true;
    if (!vscode.workspace.isTrusted) return false;
    return (vscode.workspace.workspaceFolders ?? []).some((f) => f.uri.scheme === 'file' && (file + '/').startsWith(f.uri.fsPath.replace(/\/?$/, '/')));
  }

  /** Whether the open view of `file` last read or wrote other text than `text` (save-after-pause.ts). */
  differs(file: string, text: string): boolean {
    const session = this.sessions.get(file);
    if (!session) return false;
    return Buffer.from(session.plaintext).toString('utf8').replace(/^\uFEFF/, '') !== text;
  }

  get openViews(): number {
    return this.sessions.size;
  }

  watch(uri: vscode.Uri): vscode.Disposable {
    let watcher: FSWatcher | undefined;
    try {
      // A change on disk (git pull, the CLI, another window) refreshes a view that is not dirty;
      // VS Code's own conflict flow takes over for one that is. The folder is watched, not the
      // file: every atomic write renames a new file over the old one, and a watch on the old
      // file would go quiet after the first.
      const file = toFile(uri).path;
      const name = path.basename(file);
      watcher = watch(path.dirname(file), (_event, changed) => {
        if (changed === null || changed === name) this.onDiskChange(uri);
      });
    } catch {
      watcher = undefined;
    }
    return new vscode.Disposable(() => watcher?.close());
  }

  /**
   * Every change is passed on, even one the view has already read: VS Code stats a file and then
   * reads it, so a write landing in between leaves its editor with the new text under the old
   * mtime until an event makes it look again (without one, its next save met a false "newer on
   * disk" conflict). VS Code re-reads only when the stat moved, so an extra event costs a stat.
   * A forgotten view (closed, Lock) is not brought back by a change.
   */
  private onDiskChange(uri: vscode.Uri): void {
    const file = fileOf(uri);
    if (!file || !this.sessions.has(file)) return;
    this.emitter.fire([{ type: vscode.FileChangeType.Changed, uri }]);
    clearTimeout(this.checks.get(file));
    this.checks.set(file, setTimeout(() => void this.checkDisk(uri, file), CHECK_AFTER_CHANGE_MS));
  }

  private readonly checks = new Map<string, NodeJS.Timeout>();

  /**
   * A view fails closed: a change on disk is verified at once (the session's data key, or KMS for
   * a new one), so that a file that no longer verifies is said within a second, and the view's
   * edits are never saved over it. A valid change clears the mark (VS Code reloads a clean view).
   */
  private async checkDisk(uri: vscode.Uri, file: string): Promise<void> {
    this.checks.delete(file);
    const session = this.sessions.get(file);
    const st = await fs.stat(file).catch(() => undefined);
    if (!session || !st || st.mtimeMs === session.mtime) return;
    const problem = await this.verify(file).then(
      () => undefined,
      (err: unknown) => (isKmsEnvelopeError(err) && ['FORMAT', 'TAMPERED', 'NOT_ENCRYPTED'].includes(err.code) ? err.message : undefined),
    );
    if (this.sessions.get(file) !== session) return;
    const was = session.refused;
    session.refused = problem;
    if (problem && problem !== was) {
      this.log.error(`${file} changed on disk and does not verify: ${problem}`);
      void vscode.window.showErrorMessage(
        `KMS Envelope: ${path.basename(file)} changed on disk and does not verify (${problem}). The decrypted view keeps what you had and will not be saved over the file: restore the file from version control, then reopen it.`,
      );
    }
  }

  /** Opens the file on disk as a reader would (verifying every byte), and lets go of what it opened. */
  private async verify(file: string): Promise<void> {
    const opened = await this.open(file, 0, new HostTime());
    wipeSession(opened);
    opened.plaintext.fill(0);
  }

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    const file = toFile(uri).path;
    const st = await fs.stat(file).catch(() => {
      throw vscode.FileSystemError.FileNotFound(uri);
    });
    if (st.isDirectory()) return { type: vscode.FileType.Directory, ctime: st.ctimeMs, mtime: st.mtimeMs, size: 0 };
    const session = this.sessions.get(file);
    const fresh = session && session.mtime === st.mtimeMs;
    return {
      type: vscode.FileType.File,
      ctime: st.ctimeMs,
      mtime: st.mtimeMs,
      // VS Code sees a save conflict only when both mtime and size moved: a file changed on disk
      // must not report the size of the plaintext we read before it changed.
      size: fresh ? session.plaintext.length : st.size,
      ...(session?.store === 'text' ? { permissions: vscode.FilePermission.Readonly } : {}),
    };
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const file = toFile(uri).path;
    const st = await fs.stat(file).catch(() => {
      throw vscode.FileSystemError.FileNotFound(uri);
    });
    const current = this.sessions.get(file);
    if (current && current.mtime === st.mtimeMs) return current.plaintext;
    if (!this.mayOpen(file)) {
      throw vscode.FileSystemError.NoPermissions(`${path.basename(file)} is not decrypted without a command here (outside the workspace, or the workspace is not trusted): run KMS Envelope: Open Decrypted`);
    }
    if (st.size > MAX_VIEW_BYTES) {
      throw new KmsEnvelopeError('USAGE', `${path.basename(file)} is too large to open in the editor (${Math.round(st.size / 1024 / 1024)} MiB)`, 'Use the CLI: kms-envelope decrypt --out <file>.');
    }
    // One decryption per file at a time: the prefetch and the editor's own read share it.
    const key = `${file}\0${st.mtimeMs}`;
    let pending = this.opening.get(key);
    if (!pending) {
      const time = new HostTime();
      pending = this.withProgress(`Decrypting ${path.basename(file)}`, () => this.open(file, st.mtimeMs, time)).then((session) => {
        this.forget(file);
        this.sessions.set(file, session);
        // the extension host's own work, apart from its waits (the bench reports it for big files)
        const ms = (n: number) => `${Math.round(n)} ms`;
        this.log.info(`opened ${file} decrypted (${session.store}) in ${ms(time.ownMs)} of the host's CPU time (${time.summary()}), plus ${ms(time.kmsMs)} waiting for KMS`);
        return session;
      });
      this.opening.set(key, pending);
      void pending.finally(() => this.opening.delete(key)).catch(() => undefined);
    }
    return (await pending).plaintext;
  }

  private async open(file: string, mtime: number, time: HostTime): Promise<Session> {
    const keys = time.keys(this.keys());
    const kind = await time.wait(kindOf(file));
    if (kind === 'plain') throw new KmsEnvelopeError('NOT_ENCRYPTED', `${file} is not encrypted by kms-envelope`);
    if (kind === 'sops') {
      const read = await time.wait(readSopsFile(file));
      if (!read) throw new KmsEnvelopeError('NOT_ENCRYPTED', `${file} is not a SOPS file`);
      const opened = await openSops(read.text, read.store, file, sopsUnwrap(keys, file));
      return { store: 'sops', opened, plaintext: Buffer.from(opened.plaintext, 'utf8'), mtime };
    }
    if (kind === 'file') {
      const source = readPieces(file, WHOLE_FILE_READ_BYTES);
      try {
        const opened = await openFileStream(source, unwrapper(keys));
        const parts: Buffer[] = [];
        try {
          for await (const p of opened.plaintext) parts.push(p);
        } catch (err) {
          wipeFileKey(opened.key);
          throw err;
        }
        return { store: 'file', key: opened.key, reuse: new ReuseMap(), layout: { leader: '#', eol: '\n' }, plaintext: Buffer.concat(parts), mtime };
      } finally {
        await source.return(undefined);
      }
    }
    const { text, sidecar } = await time.wait(readTextFile(file));
    const opened = await openText(text, keys, file, sidecar, time.pause);
    return { store: opened.store, key: opened.key, reuse: opened.reuse, layout: opened.layout, plaintext: Buffer.from(opened.plaintext, 'utf8'), mtime };
  }

  async writeFile(uri: vscode.Uri, content: Uint8Array, options: { create: boolean; overwrite: boolean }): Promise<void> {
    const file = toFile(uri).path;
    const time = new HostTime();
    const session = this.sessions.get(file);
    if (!session) {
      throw options.create ? vscode.FileSystemError.NoPermissions('create the file, then encrypt it with KMS Envelope: Encrypt File') : vscode.FileSystemError.FileNotFound(uri);
    }
    if (session.store !== 'dotenv' && session.store !== 'file' && session.store !== 'sops') throw vscode.FileSystemError.NoPermissions('selections are edited in the file itself: use Decrypt Selection / Encrypt Selection');
    if (session.refused) throw vscode.FileSystemError.NoPermissions(`${path.basename(file)} changed on disk and does not verify (${session.refused}): not saved over it. Restore the file, then reopen it.`);
    if (session.store === 'sops') return this.writeSops(uri, file, session, content, time);
    await time.wait(this.sameDataKey(file, session));
    // a header that names a key outside the allow-list, or a data key retired by a key's removal (a rollback)
    await time.wait(sealable(file, session.key, this.keys()));
    // Sealing is local: the data key of the open view is kept, so a save never waits on KMS.
    if (session.store === 'file') {
      await atomicWrite(file, sealFileStream([content], session.key)); // sealed as it is written: all of it counts
    } else {
      const text = decodeUtf8(content, path.basename(file));
      // the host runs other work between the save's steps (a large file's lexing and sealing included)
      const joined = joinSealed(await sealDotenvPausing(text, session.key, { layout: session.layout, reuse: session.reuse }, time.pause));
      // Read back what we are about to write, with the same key: the reuse map for the next
      // save, and proof that the file on disk will decrypt to exactly this text.
      const check = await openDocument(splitDocument(joined)!, async () => Buffer.from(session.key.dek), session.reuse, time.pause);
      wipeFileKey(check.key); // a copy of the session's key: wiped before anything can throw
      if (check.plaintext !== text) throw new Error('internal error: the re-encrypted file does not read back');
      await time.wait(atomicWrite(file, joined));
      session.reuse = check.reuse;
    }
    session.plaintext = content;
    session.mtime = (await time.wait(fs.stat(file))).mtimeMs;
    this.log.info(`saved ${file} encrypted in ${Math.round(time.ownMs)} ms of the host's CPU time (${time.summary()}, writing included; no KMS call)`);
    this.emitter.fire([{ type: vscode.FileChangeType.Changed, uri }]);
  }

  /**
   * A SOPS save: sealed locally with the view's data key (values unchanged keep their ciphertext,
   * a new MAC and lastmodified), read back with the same key, then written atomically. The file
   * on disk must still be the version the view read, or one sealed under the same data key (its
   * MAC decrypts with it): a rotation by sops or another window is never undone.
   */
  private async writeSops(uri: vscode.Uri, file: string, session: SopsSession, content: Uint8Array, time: HostTime): Promise<void> {
    const st = await time.wait(fs.stat(file).catch(() => undefined));
    const base = st && st.mtimeMs === session.mtime ? session.opened : await this.sopsOnDisk(file, session, time);
    let next: SopsOpened;
    try {
      // a KMS entry outside the allow-list, or a data key retired by a key's removal: nothing new under it
      await time.wait(sopsSealable(file, base, this.keys()));
      const text = decodeUtf8(content, path.basename(file));
      const sealed = sealSops(base, text, file);
      await time.pause();
      // read back with the same key before anything is written; what it opened is what the next
      // save starts from (the IVs, metadata and lastmodified about to be on disk)
      next = await readBack(base.key, base.store.name as OpenableStore, sealed, text, file);
      try {
        await time.wait(atomicWrite(file, sealed));
      } catch (err) {
        wipeSops(next);
        throw err;
      }
    } finally {
      if (base !== session.opened) wipeSops(base);
    }
    wipeSops(session.opened);
    session.opened = next;
    session.plaintext = content;
    session.mtime = (await time.wait(fs.stat(file))).mtimeMs;
    this.log.info(`saved ${file} (SOPS, ${next.store.name}) in ${Math.round(time.ownMs)} ms of the host's CPU time (no KMS call)`);
    this.emitter.fire([{ type: vscode.FileChangeType.Changed, uri }]);
  }

  /**
   * The version on disk, changed since the view read it: a save goes against it (its recipients
   * and metadata are kept) only when it is sealed under the view's data key.
   */
  private async sopsOnDisk(file: string, session: SopsSession, time: HostTime): Promise<SopsOpened> {
    const read = await time.wait(readSopsFile(file).catch(() => undefined));
    // a copy of the view's key, which the document opened keeps (and its wipe clears): wiped here
    // only when nothing opened (wiping it after a success sealed the save under a zero key)
    const key = Buffer.from(session.opened.key);
    const current = read && (await openSops(read.text, read.store, file, async () => key).catch(() => undefined));
    if (!current) {
      key.fill(0);
      throw vscode.FileSystemError.NoPermissions(
        `${path.basename(file)} was changed on disk under another data key (sops rotate or updatekeys, or a key removed) or no longer verifies, since this view read it: not saved over it. Copy your edits, close the view and reopen the file.`,
      );
    }
    return current;
  }

  /**
   * The file on disk must still be sealed under the view's data key: a save never puts back the
   * data key and stanzas of a version it read before someone rotated the file or removed a key
   * (VS Code's "Overwrite" in its conflict flow included).
   */
  private async sameDataKey(file: string, session: OwnSession): Promise<void> {
    const st = await fs.stat(file).catch(() => undefined);
    if (st && st.mtimeMs === session.mtime) return;
    const parsed = parseHeader(await readHead(file, MAX_HEADER_BYTES).catch(() => ''));
    if (!parsed || !equalBytes(parsed.header.commitment, session.key.keys.commitment)) {
      throw vscode.FileSystemError.NoPermissions(
        `${path.basename(file)} was changed on disk under ${parsed ? 'another data key (rotated, or a key added or removed)' : 'no valid header'} since this view read it: not saved over it. Copy your edits, close the view and reopen the file.`,
      );
    }
  }

  /** Drops the plaintext and wipes the data key of one view (its editor was closed). */
  forget(file: string): void {
    clearTimeout(this.checks.get(file));
    this.checks.delete(file);
    const s = this.sessions.get(file);
    if (!s) return;
    wipeSession(s);
    s.plaintext = new Uint8Array(0);
    this.sessions.delete(file);
  }

  /** Wipes every view's data key and plaintext (Lock). */
  forgetAll(): void {
    for (const file of [...this.sessions.keys()]) this.forget(file);
  }

  readDirectory(): [string, vscode.FileType][] {
    return [];
  }
  createDirectory(): void {
    throw vscode.FileSystemError.NoPermissions('the decrypted view holds single files');
  }
  delete(): void {
    throw vscode.FileSystemError.NoPermissions('delete the encrypted file instead');
  }
  rename(): void {
    throw vscode.FileSystemError.NoPermissions('rename the encrypted file instead');
  }

  dispose(): void {
    this.forgetAll();
    this.emitter.dispose();
  }
}

