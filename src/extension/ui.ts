/**
 * What the user sees: errors that say what to do (with a button that does it), progress while
 * KMS works, and the status bar item. Messages come from KmsEnvelopeErrors, which never carry
 * plaintext; anything else is reported by its type only.
 */
import vscode = require('vscode');
import { KeySetting, keyLabel } from './settings';
import { isKmsEnvelopeError } from '../core/errors';

/** The text of an error that is safe to show and log. */
export function describeError(err: unknown): string {
  if (isKmsEnvelopeError(err)) {
    // the editor's own words where the CLI's name flags and variables
    const hint = err.editorHint ?? err.hint;
    return hint ? `${err.message}. ${hint}` : err.message;
  }
  if (err instanceof vscode.FileSystemError) return err.message;
  // The detail of an unexpected error could quote file content: name only its type.
  const e = err as { name?: string; code?: string };
  return `unexpected ${e?.name ?? 'error'}${e?.code ? ` (${e.code})` : ''}; see the KMS Envelope log`;
}

/** The underlying KmsEnvelopeError of an error that crossed the FileSystemProvider boundary. */
export function unwrapError(err: unknown): unknown {
  if (isKmsEnvelopeError(err)) return err;
  const cause = (err as { cause?: unknown })?.cause;
  return isKmsEnvelopeError(cause) ? cause : err;
}

/**
 * The last error reported to the user (for the test suites, which cannot read notifications).
 * On a globalThis symbol: the entry bundle and the commands bundle each carry this module.
 */
const LAST = Symbol.for('kms-envelope.lastReportedError');
const store = globalThis as { [LAST]?: { code?: string; message: string } };
export const lastReportedError = () => store[LAST];

/** A command's handler whose failure is reported (with Retry running it again); `after` runs either way. */
export function reported<A extends unknown[]>(log: vscode.LogOutputChannel, action: string, fn: (...args: A) => Promise<void>, after?: () => void): (...args: A) => Promise<void> {
  const handler = async (...args: A): Promise<void> => {
    try {
      await fn(...args);
    } catch (err) {
      await reportError(err, log, action, () => handler(...args));
    } finally {
      after?.();
    }
  };
  return handler;
}

/** Errors that may go away when the same thing is tried again. */
const RETRYABLE = new Set(['KMS_UNAVAILABLE', 'NO_CREDENTIALS', 'SSO_EXPIRED', 'ACCESS_DENIED', 'KEY_UNUSABLE', 'KEY_NOT_ALLOWED', 'CANCELLED']);

/**
 * Shows an error with the buttons that fix it (and Retry, when `retry` is given and trying
 * again can help); returns once shown, without waiting for a click. A cancellation is logged,
 * not shown: the user asked for it.
 */
export async function reportError(err: unknown, log: vscode.LogOutputChannel, action: string, retry?: () => Promise<unknown>): Promise<void> {
  const e = unwrapError(err);
  const text = `${action} failed: ${describeError(e)}`;
  store[LAST] = { code: isKmsEnvelopeError(e) ? e.code : undefined, message: text };
  if (isKmsEnvelopeError(e) && e.code === 'CANCELLED') {
    log.info(`${action}: cancelled`);
    return;
  }
  log.error(text);
  if (!isKmsEnvelopeError(e)) {
    const x = e as { name?: string; code?: string };
    log.error(`${action}: ${x?.name ?? typeof e} ${x?.code ?? ''}`);
  }
  const buttons: string[] = [];
  if (isKmsEnvelopeError(e)) {
    if (e.code === 'SSO_EXPIRED') buttons.push('Run aws sso login');
    if (e.code === 'NO_CREDENTIALS' || e.code === 'ACCESS_DENIED' || e.code === 'SSO_EXPIRED') buttons.push('Select AWS Profile');
    if ((e.code === 'CONFIG' && /no KMS key/.test(e.message)) || (e.code === 'KEY_UNUSABLE' && !/kms:Decrypt/.test(e.message))) buttons.push('Select KMS Key');
    if (e.code === 'KEY_NOT_ALLOWED' || (e.code === 'CONFIG' && !/no KMS key/.test(e.message))) buttons.push('Open Settings');
    if (retry && RETRYABLE.has(e.code)) buttons.unshift('Retry');
  }
  buttons.push('Show Log');
  void vscode.window.showErrorMessage(`KMS Envelope: ${text}`, ...buttons).then((choice) => act(choice, e, log, retry));
}

async function act(choice: string | undefined, e: unknown, log: vscode.LogOutputChannel, retry?: () => Promise<unknown>): Promise<void> {
  if (choice === 'Retry' && retry) await retry();
  else if (choice === 'Show Log') log.show(true);
  else if (choice === 'Select KMS Key') await vscode.commands.executeCommand('kmsEnvelope.selectKey');
  else if (choice === 'Run aws sso login' && isKmsEnvelopeError(e)) {
    const terminal = vscode.window.createTerminal({ name: 'AWS SSO login' });
    terminal.show();
    terminal.sendText(`aws sso login${e.profile ? ` --profile ${e.profile}` : ''}`);
  } else if (choice === 'Select AWS Profile') {
    await vscode.commands.executeCommand('kmsEnvelope.selectProfile');
  } else if (choice === 'Open Settings') {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'kmsEnvelope');
  }
}

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('kmsEnvelope.status', vscode.StatusBarAlignment.Right, 100);

  constructor() {
    this.item.name = 'KMS Envelope';
    this.item.command = 'kmsEnvelope.statusMenu';
  }

  update(state: { profile?: string; key?: KeySetting; unlocked: boolean }): void {
    const key = keyLabel(state.key);
    // a key while data keys are in memory, a lock when none is: an open lock looked too much like a closed one (walkthrough #12)
    this.item.text = `$(${state.unlocked ? 'key' : 'lock'}) ${state.profile ?? 'default chain'} · ${key}`;
    const source = state.key ? { selected: 'chosen with Select KMS Key', user: 'your user settings', workspace: 'the workspace settings' }[state.key.source] : '';
    this.item.tooltip = new vscode.MarkdownString(
      `**KMS Envelope**\n\nProfile: \`${state.profile ?? 'default credential chain'}\`\n\nKey: \`${state.key?.ref ?? 'none chosen'}\`${source ? ` (${source})` : ''}\n\n` +
        (state.unlocked ? 'Data keys are in memory: run *KMS Envelope: Lock* to wipe them.' : 'No data key in memory.'),
    );
    this.item.accessibilityInformation = { label: `KMS Envelope: profile ${state.profile ?? 'default credential chain'}, key ${key}, ${state.unlocked ? 'data keys in memory' : 'locked'}` };
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}

/**
 * A diff in VS Code's text diff editor. `vscode.diff` would pick the `.env` opener (a custom
 * editor) for both sides; the workbench's own diff command takes the editor to use.
 */
export async function openTextDiff(left: vscode.Uri, right: vscode.Uri, title: string, column?: vscode.ViewColumn): Promise<void> {
  await vscode.commands.executeCommand('_workbench.diff', left, right, title, [column, { override: 'default', preview: false }]);
}
