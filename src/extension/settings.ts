/**
 * The extension's settings (package.json `contributes.configuration`), read in one place.
 *
 * A workspace's `.vscode/settings.json` is written by the repository's committers, so what
 * decides which keys and credentials are used is read from the user's own settings and state
 * only: the allow-list and the profile ignore workspace values (and are `application`-scoped),
 * and a key the workspace suggests is used only once the user confirmed it.
 */
import vscode = require('vscode');
import { SECRET_PATTERNS } from '../core/git/patterns';
import { matchesAny, usableGlobs } from '../core/glob';
import { accountOf } from '../core/kms/allow-list';

export const SECTION = 'kmsEnvelope';
/** Per user and workspace, outside the repository (workspaceState). */
export const PROFILE_STATE = 'kmsEnvelope.profile';
/** What PROFILE_STATE holds when the user chose the SDK's default credential chain for the workspace (over a profile in the user settings). */
export const DEFAULT_CHAIN = '';
export const KEY_STATE = 'kmsEnvelope.key';
/** Per user, all workspaces (globalState): keys suggested by a workspace that the user confirmed. */
export const CONFIRMED_KEYS = 'kmsEnvelope.confirmedKeys';
/** Per user, all workspaces (globalState): key ARNs the user allowed from a file's warning (the default allow-list is the chosen keys and these). */
export const ALLOWED_ONCE = 'kmsEnvelope.allowedOnce';

/** The longest a data key may stay cached, whatever the setting says. */
export const MAX_CACHE_SECONDS = 3600;

export interface StoredKey {
  readonly arn: string;
  readonly alias?: string;
}

export interface KeySetting {
  /** What to pass to KMS: an ARN, alias or key id. */
  readonly ref: string;
  /** Where it came from: Select KMS Key, the user's settings, or the workspace's settings. */
  readonly source: 'selected' | 'user' | 'workspace';
  readonly alias?: string;
}

export interface Settings {
  /** undefined: the SDK's default chain (AWS_PROFILE, env, default profile, SSO, metadata). */
  readonly profile?: string;
  readonly region?: string;
  readonly key?: KeySetting;
  /** Whether the key came from the workspace and the user has not confirmed it yet. */
  readonly keyNeedsConfirmation: boolean;
  /** Keys the user chose or allowed once (they are the allow-list when `allowedKeys` is empty). */
  readonly chosenKeys: string[];
  /** The user's own context pairs (user settings). */
  readonly encryptionContext: Record<string, string>;
  /** Pairs the workspace's settings suggest: added to the user's, never changing one (core/header combineContext). */
  readonly workspaceContext: Record<string, string>;
  readonly allowedKeys: string[];
  readonly cacheMaxAgeSeconds: number;
  /** The longest the extension waits for one KMS call, retries included. */
  readonly kmsTimeoutSeconds: number;
  readonly decryptOnOpen: boolean;
  readonly decryptOnOpenPatterns: string[];
  readonly decryptWholeFiles: boolean;
  /** Whether a SOPS file's aws_profile may choose the profile (user settings only). */
  readonly sopsFileProfiles: boolean;
}

const blank = (s: string | undefined) => (s && s.trim() ? s.trim() : undefined);

export const clampCacheSeconds = (n: number | undefined): number => (typeof n === 'number' && Number.isFinite(n) ? Math.min(Math.max(n, 0), MAX_CACHE_SECONDS) : 300);

export function readSettings(state: vscode.Memento, global: vscode.Memento): Settings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const stored = state.get<StoredKey>(KEY_STATE);
  const keyId = c.inspect<string>('keyId');
  const fromWorkspace = blank(keyId?.workspaceFolderValue) ?? blank(keyId?.workspaceValue);
  const fromUser = blank(keyId?.globalValue);
  const key: KeySetting | undefined = stored
    ? { ref: stored.arn, source: 'selected', alias: stored.alias }
    : fromWorkspace
      ? { ref: fromWorkspace, source: 'workspace' }
      : fromUser
        ? { ref: fromUser, source: 'user' }
        : undefined;
  const confirmed = global.get<string[]>(CONFIRMED_KEYS) ?? [];
  const ctx = c.inspect<Record<string, string>>('encryptionContext');
  const keyNeedsConfirmation = key?.source === 'workspace' && !confirmed.includes(key.ref);
  return {
    profile: state.get<string>(PROFILE_STATE) === DEFAULT_CHAIN ? undefined : (blank(state.get<string>(PROFILE_STATE)) ?? blank(c.inspect<string>('profile')?.globalValue)),
    region: blank(c.get<string>('region')),
    key,
    keyNeedsConfirmation,
    chosenKeys: [...new Set([...(key && !keyNeedsConfirmation ? [key.ref] : []), ...(fromUser ? [fromUser] : []), ...(global.get<string[]>(ALLOWED_ONCE) ?? [])])],
    encryptionContext: ctx?.globalValue ?? {},
    workspaceContext: { ...ctx?.workspaceValue, ...ctx?.workspaceFolderValue },
    allowedKeys: c.inspect<string[]>('allowedKeys')?.globalValue ?? [],
    cacheMaxAgeSeconds: clampCacheSeconds(c.get<number>('cacheMaxAgeSeconds')),
    kmsTimeoutSeconds: Math.min(Math.max(c.get<number>('kmsTimeoutSeconds') ?? 20, 1), 300),
    decryptOnOpen: c.get<boolean>('decryptOnOpen.enabled') ?? true,
    decryptOnOpenPatterns: usableGlobs(c.get<unknown>('decryptOnOpen.patterns') ?? SECRET_PATTERNS),
    decryptWholeFiles: c.get<boolean>('decryptOnOpen.wholeFiles') ?? true,
    sopsFileProfiles: c.inspect<boolean>('sops.fileProfiles')?.globalValue === true,
  };
}

/** A key for people: its alias (if known) and its account. */
export function keyLabel(key: KeySetting | undefined): string {
  if (!key) return 'no key';
  const account = accountOf(key.ref);
  const name = key.alias ?? key.ref.replace(/^arn:aws[a-z-]*:kms:[^:]+:\d{12}:/, '');
  return account ? `${name} (${account})` : name;
}

/** Whether a file name matches one of the patterns (glob.ts). */
export const matchesPattern = (fileName: string, patterns: readonly string[]): boolean => matchesAny(patterns, fileName);
