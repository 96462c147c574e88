import vscode = require('vscode');

/** HEAD's version of a file, decrypted (git/head-version.ts): `kms-envelope-head:` + the file's path, `?HEAD`. */
export const HEAD_SCHEME = 'kms-envelope-head';

export const toHead = (file: vscode.Uri): vscode.Uri => vscode.Uri.from({ scheme: HEAD_SCHEME, path: file.path, query: 'HEAD' });
