import * as vscode from 'vscode';

/** The decrypted view's scheme: `kms-envelope:` + the path of the encrypted file. */
export const SCHEME = 'kms-envelope';

export const toView = (file: vscode.Uri): vscode.Uri => vscode.Uri.from({ scheme: SCHEME, path: file.path });
export const toFile = (view: vscode.Uri): vscode.Uri => vscode.Uri.file(view.path);
