/**
 * VS Code's Local History copies every save of a `file:` resource into the user-data folder
 * (`User/History/<hash>/`: one file per saved version, and an `entries.json` naming the resource,
 * which VS Code writes when the window closes). A `.env` typed in clear and saved before
 * *Encrypt File* leaves its plaintext there. The defences:
 * - secret file names are excluded from Local History by default (package.json
 *   `configurationDefaults`, `workbench.localHistory.exclude`);
 * - encrypting a file removes the copies VS Code kept of it: the folders whose `entries.json`
 *   names it, and the folder VS Code names by the hash of its URI (found before `entries.json`
 *   exists: the `file:` URI on the desktop, the `vscode-remote:` URI of every remote authority
 *   seen in the History folder);
 * - a file encrypted here is remembered (outside the repository) and its copies are looked for
 *   again when the extension next starts, when VS Code has written `entries.json` (a remote
 *   window, whose authority the extension cannot see, is cleared then).
 *
 * The History folder is found beside the extension's global storage (`User/globalStorage/<id>`),
 * which VS Code keeps in the same user-data folder, on the desktop and on a remote alike.
 */
import { promises as fs } from 'node:fs';
import path = require('node:path');
import vscode = require('vscode');

/** Files encrypted here whose History is looked at again on the next start (globalState). */
export const PENDING_HISTORY = 'kmsEnvelope.historyToClear';
const MAX_PENDING = 200;
const MAX_FOLDERS = 100_000;

export const historyFolder = (globalStorage: vscode.Uri): string => path.join(path.dirname(path.dirname(globalStorage.fsPath)), 'History');

/** VS Code's string hash (base/common/hash.ts), which names a resource's History folder in hex. */
export function vscodeHash(s: string): string {
  const step = (val: number, h: number) => ((h << 5) - h + val) | 0;
  let h = step(149417, 0);
  for (let i = 0; i < s.length; i++) h = step(s.charCodeAt(i), h);
  return h.toString(16);
}

interface Folder {
  readonly name: string;
  /** The resource its entries.json names, when VS Code has written one. */
  readonly resource?: vscode.Uri;
}

async function readFolders(root: string): Promise<Folder[]> {
  const names = (await fs.readdir(root).catch(() => [] as string[])).slice(0, MAX_FOLDERS);
  return Promise.all(
    names.map(async (name) => {
      const json = await fs.readFile(path.join(root, name, 'entries.json'), 'utf8').then(
        (t) => JSON.parse(t) as { resource?: unknown },
        () => undefined,
      );
      return { name, resource: typeof json?.resource === 'string' ? vscode.Uri.parse(json.resource) : undefined };
    }),
  );
}

/** Removes every Local History copy of `file` that can be found now; returns how many versions were removed. */
export async function purgeLocalHistory(globalStorage: vscode.Uri, file: vscode.Uri): Promise<number> {
  const root = historyFolder(globalStorage);
  const folders = await readFolders(root);
  const authorities = new Set(folders.flatMap((f) => (f.resource?.scheme === 'vscode-remote' ? [f.resource.authority] : [])));
  const hashes = new Set([file.toString(), ...[...authorities].map((a) => file.with({ scheme: 'vscode-remote', authority: a }).toString())].map(vscodeHash));
  const mine = folders.filter((f) => (f.resource ? (f.resource.scheme === 'file' || f.resource.scheme === 'vscode-remote') && f.resource.path === file.path : hashes.has(f.name)));
  let removed = 0;
  for (const f of mine) {
    const dir = path.join(root, f.name);
    removed += (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n !== 'entries.json').length;
    await fs.rm(dir, { recursive: true, force: true });
  }
  return removed;
}

/** Remembers a file just encrypted, so that its History is looked at again on the next start. */
export async function rememberForLater(global: vscode.Memento, file: vscode.Uri): Promise<void> {
  const pending = (global.get<string[]>(PENDING_HISTORY) ?? []).filter((u) => u !== file.toString());
  await global.update(PENDING_HISTORY, [...pending, file.toString()].slice(-MAX_PENDING));
}

/** On start: the History of files encrypted in earlier sessions, now that VS Code has named them. */
export async function purgePending(globalStorage: vscode.Uri, global: vscode.Memento, log: vscode.LogOutputChannel): Promise<void> {
  const pending = global.get<string[]>(PENDING_HISTORY) ?? [];
  if (!pending.length) return;
  for (const u of pending) {
    const n = await purgeLocalHistory(globalStorage, vscode.Uri.parse(u)).catch(() => 0);
    if (n) log.info(`removed ${n} Local History version(s) of ${vscode.Uri.parse(u).fsPath} (saved in clear before it was encrypted)`);
  }
  await global.update(PENDING_HISTORY, []);
}
