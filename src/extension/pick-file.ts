import vscode = require('vscode');
import { KmsEnvelopeError } from '../core/errors';
import type { EncryptedFacts } from '../core/classify';
import type { EncryptedFiles } from './encrypted-files';

export interface PickOptions {
  readonly glob: string;
  /** Whether a file fits, from its facts (null: plain). */
  readonly fits: (facts: EncryptedFacts | null) => boolean;
  readonly title: string;
  /** The error when no file fits. */
  readonly none: string;
}

/**
 * A file for a command run without one (the walkthrough, the palette with no editor): the user
 * picks among the workspace's files that fit, each read again while listing (a few at a time).
 */
export async function pickFile(files: EncryptedFiles, o: PickOptions): Promise<vscode.Uri | undefined> {
  const found = await vscode.workspace.findFiles(o.glob, '**/{node_modules,.git}/**', 500);
  const facts = await Promise.all(found.map((u) => files.recheck(u)));
  const fitting = found.filter((_u, i) => facts[i] !== undefined && o.fits(facts[i]!));
  if (fitting.length === 0) throw new KmsEnvelopeError('USAGE', o.none);
  const pick = await vscode.window.showQuickPick(
    fitting.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u })),
    { title: o.title },
  );
  return pick?.uri;
}
