/**
 * KMS access for the extension: one provider (with one data-key cache) serves every command and
 * view until the settings change or the user locks. Its requests go to a worker thread that
 * loads the AWS SDK (dist/kms-worker.js): the SDK's compile, the credential chain, signing and
 * parsing never run on the extension host's thread.
 */
import path = require('node:path');
import vscode = require('vscode');
import type { KmsParts } from './engine';
import { ALLOWED_ONCE, readSettings, Settings } from './settings';

type Provider = InstanceType<KmsParts['KmsKeyProvider']>;
type Transport = InstanceType<KmsParts['WorkerTransport']>;

export class Keys implements vscode.Disposable {
  private provider?: Provider;
  /** The provider's worker thread: stopped with it (Lock, a change of settings), and its credentials with it. */
  private transport?: Transport;
  private pastCalls = 0;
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when data keys were cached or wiped (for the status bar). */
  readonly onDidChange = this.changed.event;
  private readonly locked = new vscode.EventEmitter<void>();
  /** Fires when the user locks: whatever holds decrypted values lets go of them. */
  readonly onDidLock = this.locked.event;

  constructor(
    private readonly state: vscode.Memento,
    private readonly global: vscode.Memento,
    private readonly log: vscode.LogOutputChannel,
    /** The provider's classes, from the commands bundle (they hold no SDK). */
    private readonly parts: () => KmsParts,
  ) {}

  settings(): Settings {
    return readSettings(this.state, this.global);
  }

  /** The profiles of the shared AWS config files (for the picker), read as the SDK reads them. */
  listProfiles(): ReturnType<KmsParts['listProfiles']> {
    return this.parts().listProfiles();
  }

  service(): Provider {
    if (!this.provider) {
      const s = this.settings();
      const rt = this.parts();
      this.transport = new rt.WorkerTransport(path.join(__dirname, 'kms-worker.js'));
      this.provider = new rt.KmsKeyProvider({
        transport: this.transport,
        profile: s.profile,
        region: s.region,
        allowedKeys: s.allowedKeys,
        chosenKeys: s.chosenKeys,
        fileProfiles: s.sopsFileProfiles,
        deadlineMs: s.kmsTimeoutSeconds * 1000,
        cache: new rt.DataKeyCache({ maxAgeMs: s.cacheMaxAgeSeconds * 1000, maxUses: 10_000 }, () => this.changed.fire()),
        onIgnoredKeys: (keys) => this.warnIgnored(keys),
        onUnchosenOnly: (keys) => {
          this.log.warn(`a file is wrapped only for keys not chosen here: ${keys.join(', ')}`);
          void vscode.window.showWarningMessage(`KMS Envelope: this file is wrapped only for keys you did not choose (${keys.join(', ')}). Your allow-list accepts them, but anyone who can create a key in that account could have made it.`);
        },
      });
      this.log.info(
        `KMS provider: profile ${s.profile ?? '(default chain)'}, region ${s.region ?? '(from profile or key)'}, allowed: ${s.allowedKeys.length ? s.allowedKeys.join(', ') : s.chosenKeys.length ? `the keys ${s.chosenKeys.join(', ')}` : 'nothing yet (choose a key)'}`,
      );
    }
    return this.provider;
  }

  listAliases(): ReturnType<Provider['listAliases']> {
    this.service();
    return this.provider!.listAliases();
  }

  private readonly warned = new Set<string>();
  /**
   * A file's header names keys outside the allow-list: say so once per key set. With the default
   * allow-list (no kmsEnvelope.allowedKeys), the user may allow them here, once, for every
   * workspace: a teammate's or CI's key then stays in the files this user rotates and writes.
   */
  private warnIgnored(keys: string[]): void {
    const id = keys.join(',');
    if (this.warned.has(id)) return;
    this.warned.add(id);
    this.log.warn(`a file names KMS keys outside the allow-list (not used): ${id}`);
    const canAllow = this.settings().allowedKeys.length === 0;
    void vscode.window
      .showWarningMessage(
        `KMS Envelope: this file also names KMS keys you have not allowed; they were not used, and a save into it is refused while they are in it: ${keys.join(', ')}`,
        ...(canAllow ? ['Allow These Keys…'] : []),
      )
      .then(async (pick) => {
        if (pick !== 'Allow These Keys…') return;
        const ok = await vscode.window.showWarningMessage(
          `Allow ${keys.length === 1 ? 'this KMS key' : `these ${keys.length} KMS keys`} to decrypt your files and to keep getting their data keys?`,
          { modal: true, detail: `${keys.join('\n')}\n\nA file's header is written by whoever committed it: allow only keys you know (a teammate's, CI's). kms-envelope remembers this outside the repository, in your user state; a list of your own in the user setting kmsEnvelope.allowedKeys replaces it.` },
          'Allow',
        );
        if (ok !== 'Allow') return;
        await this.global.update(ALLOWED_ONCE, [...new Set([...(this.global.get<string[]>(ALLOWED_ONCE) ?? []), ...keys])]);
        this.log.info(`allowed ${keys.join(', ')} (kept outside the repository)`);
        this.reset();
      });
  }

  /** Whether the AWS SDK is loaded: in the provider's KMS worker thread, started on its first request. */
  get sdkLoaded(): boolean {
    return this.transport?.started ?? false;
  }

  /** KMS calls made from this window since activation. */
  get calls(): number {
    return this.pastCalls + (this.provider?.calls ?? 0);
  }

  get cachedKeys(): number {
    return this.provider?.cache.size ?? 0;
  }

  /** Wipes every cached data key and forgets the provider (settings are read again on next use). */
  reset(): void {
    this.pastCalls += this.provider?.calls ?? 0;
    this.provider?.cache.clear();
    this.provider?.destroy();
    this.transport?.destroy();
    this.provider = undefined;
    this.transport = undefined;
    this.changed.fire();
  }

  /** Lock: every data key wiped, and everything that holds decrypted values told so. */
  lock(): void {
    this.reset();
    this.locked.fire();
  }

  dispose(): void {
    this.reset();
    this.changed.dispose();
    this.locked.dispose();
  }
}
