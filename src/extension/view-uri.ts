import { createHash } from 'node:crypto';
import vscode = require('vscode');

/** The decrypted view's scheme. */
export const SCHEME = 'kms-envelope';

/**
 * A workspace folder's name in a view URI's authority: short, stable across reloads and folder
 * reordering (a hash of the folder's URI), and lower-case as URIs print authorities.
 */
const folderId = (folder: vscode.Uri): string => {
  const key = folder.toString();
  let id = folderIds.get(key);
  // computed once per folder: VS Code stats a view often, and each look-up goes through every folder
  if (id === undefined) folderIds.set(key, (id = createHash('sha256').update(key).digest('hex').slice(0, 12)));
  return id;
};
const folderIds = new Map<string, string>();

/**
 * The view of a file: `kms-envelope://<folder id>/<path in the folder>` for a file of a workspace
 * folder, `kms-envelope:<absolute path>` otherwise. VS Code places a URI in a workspace folder
 * only when the schemes match, so breadcrumbs and tab descriptions show a view's whole path from
 * `/`; a path that starts at the folder reads as the file's own does.
 */
export function toView(file: vscode.Uri): vscode.Uri {
  const folder = vscode.workspace.getWorkspaceFolder(file);
  if (!folder || folder.uri.scheme !== 'file' || file.path === folder.uri.path) return vscode.Uri.from({ scheme: SCHEME, path: file.path });
  const inFolder = file.path.slice(folder.uri.path.replace(/\/$/, '').length);
  return vscode.Uri.from({ scheme: SCHEME, authority: folderId(folder.uri), path: inFolder });
}

/**
 * The file a view shows. A view URI can come from anywhere (a restored tab, a link): one naming a
 * folder no longer in the workspace shows nothing.
 */
export function toFile(view: vscode.Uri): vscode.Uri {
  if (!view.authority) return vscode.Uri.file(view.path);
  const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file' && folderId(f.uri) === view.authority);
  if (!folder) throw vscode.FileSystemError.FileNotFound(view);
  return vscode.Uri.joinPath(folder.uri, view.path);
}

/**
 * The path of the file a tab's URI shows: a view's file (the key of its session, timers and
 * tabs; none for a folder gone from the workspace), or any other URI's own path.
 */
export function fileOf(uri: vscode.Uri): string | undefined {
  if (uri.scheme !== SCHEME) return uri.path;
  try {
    return toFile(uri).path;
  } catch {
    return undefined;
  }
}

/** Whether `uri` is a view of `file`. */
export const isViewOf = (uri: vscode.Uri, file: vscode.Uri): boolean => uri.scheme === SCHEME && fileOf(uri) === file.path;

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
