/** VS Code's Local History and secret files (local-history.ts): what is left of earlier sessions is cleared on start. */
import vscode = require('vscode');
import { purgePending } from './local-history';

export function registerLocalHistory(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): vscode.Disposable {
  void purgePending(context.globalStorageUri, context.globalState, log).catch((err: unknown) => log.warn(`Local History: ${String(err)}`));
  return new vscode.Disposable(() => undefined);
}
