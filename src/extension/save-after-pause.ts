/**
 * Saves a decrypted view shortly after each pause in typing, so that VS Code's backup of unsaved
 * edits (the whole document in plaintext under the user-data folder, about 1 s after a change to
 * a dirty document) never has a dirty view to copy.
 *
 * What the extension host believes about a document's dirty state can lag the workbench's: a save
 * that completes just after a keystroke has been seen to leave `isDirty` false in the host while
 * the workbench keeps the tab dirty, and the keystroke never reached disk (the typing race of
 * issue 21). So the decision to save compares the document's text with what the view last wrote,
 * not `isDirty`, and after every save it looks again until the two agree.
 */
import vscode = require('vscode');
import { fileOf, SCHEME } from './view-uri';
import { reportError } from './ui';

export const SAVE_AFTER_PAUSE_MS = 300;
/** Saves in a row for one pause that still leave the text and the disk apart (an encoding VS Code changes on save): then the user is told. */
const MAX_ROUNDS = 5;

export interface SavedViews {
  /** Whether the view of `path` last wrote (or read) other text than `text`; false when there is no open view. */
  differs(path: string, text: string): boolean;
}

export function registerSaveAfterPause(views: () => SavedViews | undefined, log: vscode.LogOutputChannel): vscode.Disposable {
  const pending = new Map<string, NodeJS.Timeout>();
  const differs = (doc: vscode.TextDocument) => {
    const file = fileOf(doc.uri);
    return file !== undefined && (views()?.differs(file, doc.getText()) ?? false);
  };
  const unsaved = (doc: vscode.TextDocument) => !doc.isClosed && (doc.isDirty || differs(doc));
  const schedule = (doc: vscode.TextDocument, round: number) => {
    clearTimeout(pending.get(doc.uri.toString()));
    pending.set(
      doc.uri.toString(),
      setTimeout(async () => {
        pending.delete(doc.uri.toString());
        if (!unsaved(doc)) return;
        try {
          await doc.save();
        } catch (err) {
          reportError(err, log, 'Saving the decrypted view');
          return;
        }
        // a keystroke during the save, or a document the host calls clean that is not on disk
        if (unsaved(doc) && !pending.has(doc.uri.toString())) {
          if (round < MAX_ROUNDS) schedule(doc, round + 1);
          else log.warn(`${fileOf(doc.uri) ?? doc.uri.toString()}: the decrypted view still differs from the file after ${MAX_ROUNDS} saves`);
        }
      }, SAVE_AFTER_PAUSE_MS),
    );
  };
  return vscode.Disposable.from(
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.uri.scheme === SCHEME && e.contentChanges.length > 0) schedule(e.document, 1);
    }),
    { dispose: () => pending.forEach((t) => clearTimeout(t)) },
  );
}
