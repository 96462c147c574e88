/**
 * VS Code's Local History copies every save of a `file:` resource into the user-data folder
 * (`User/History/<hash>/`: an `entries.json` naming the resource, and one file per saved
 * version). A `.env` typed in clear and saved before *Encrypt File* leaves its plaintext there.
 * Two defences: secret file names are excluded from Local History by default (package.json
 * `configurationDefaults`, `workbench.localHistory.exclude`), and encrypting a file removes the
 * copies VS Code already kept of it, saying how many.
 *
 * The History folder is found beside the extension's global storage (`User/globalStorage/<id>`),
 * which VS Code puts in the same user-data folder, on the desktop and on a remote alike.
 */
import { promises as fs } from 'node:fs';
import path = require('node:path');
import vscode = require('vscode');

/** A History folder holds at most this many resources worth reading (VS Code's own limit is per resource). */
const MAX_FOLDERS = 100_000;

export const historyFolder = (globalStorage: vscode.Uri): string => path.join(path.dirname(path.dirname(globalStorage.fsPath)), 'History');

/** Removes every Local History copy of `file`; returns how many versions were removed. */
export async function purgeLocalHistory(globalStorage: vscode.Uri, file: vscode.Uri): Promise<number> {
  const root = historyFolder(globalStorage);
  const wanted = file.toString();
  let removed = 0;
  const folders = (await fs.readdir(root).catch(() => [] as string[])).slice(0, MAX_FOLDERS);
  for (const name of folders) {
    const dir = path.join(root, name);
    const entries = await fs.readFile(path.join(dir, 'entries.json'), 'utf8').then(
      (t) => JSON.parse(t) as { resource?: unknown; entries?: unknown[] },
      () => undefined,
    );
    if (!entries || typeof entries.resource !== 'string' || vscode.Uri.parse(entries.resource).toString() !== wanted) continue;
    const versions = (await fs.readdir(dir)).filter((f) => f !== 'entries.json');
    await fs.rm(dir, { recursive: true, force: true });
    removed += versions.length;
  }
  return removed;
}
