import vscode = require('vscode');

/** The decrypted view's scheme: `kms-envelope:` + the path of the encrypted file. */
export const SCHEME = 'kms-envelope';

export const toView = (file: vscode.Uri): vscode.Uri => vscode.Uri.from({ scheme: SCHEME, path: file.path });
export const toFile = (view: vscode.Uri): vscode.Uri => vscode.Uri.file(view.path);

/**
 * The file a command is about: the explorer's or editor title's URI, a Source Control row's
 * resource, or the active editor's file; a decrypted view stands for its file.
 */
export function commandTarget(arg: unknown): vscode.Uri | undefined {
  const resource = (arg as { resourceUri?: unknown } | undefined)?.resourceUri;
  const uri = arg instanceof vscode.Uri ? arg : resource instanceof vscode.Uri ? resource : vscode.window.activeTextEditor?.document.uri;
  if (!uri) return undefined;
  return uri.scheme === SCHEME ? toFile(uri) : uri.scheme === 'file' ? uri : undefined;
}
