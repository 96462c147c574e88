/**
 * The part of VS Code's built-in git extension API (extensions/git/src/api/git.d.ts, version 1)
 * that kms-envelope reads: which repository holds a file, what is staged, what HEAD holds.
 */
import vscode = require('vscode');

export interface Change {
  readonly uri: vscode.Uri;
  readonly status: number;
}

export interface Repository {
  readonly rootUri: vscode.Uri;
  readonly state: {
    readonly indexChanges: Change[];
    readonly workingTreeChanges: Change[];
    readonly onDidChange: vscode.Event<void>;
  };
  getObjectDetails(treeish: string, path: string): Promise<{ mode: string; object: string; size: number }>;
}

export interface GitApi {
  readonly git: { readonly path: string };
  readonly repositories: Repository[];
  readonly onDidOpenRepository: vscode.Event<Repository>;
  getRepository(uri: vscode.Uri): Repository | null;
}

interface GitExtension {
  readonly enabled: boolean;
  getAPI(version: 1): GitApi;
}

/** The git extension's API, once it is active; undefined when git is disabled or missing. */
export async function gitApi(): Promise<GitApi | undefined> {
  const ext = vscode.extensions.getExtension<GitExtension>('vscode.git');
  if (!ext) return undefined;
  const exports = ext.isActive ? ext.exports : await ext.activate().then(undefined, () => undefined);
  return exports?.enabled ? exports.getAPI(1) : undefined;
}
