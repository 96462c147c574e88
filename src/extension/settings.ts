/** The extension's settings (package.json `contributes.configuration`), read in one place. */
import * as vscode from 'vscode';

export const SECTION = 'kmsEnvelope';
export const PROFILE_STATE = 'kmsEnvelope.profile';

export interface Settings {
  /** undefined: the SDK's default chain (AWS_PROFILE, env, default profile, SSO, metadata). */
  readonly profile?: string;
  readonly region?: string;
  readonly keyId?: string;
  readonly encryptionContext: Record<string, string>;
  readonly allowedKeys: string[];
  readonly cacheMaxAgeSeconds: number;
  readonly decryptOnOpen: boolean;
  readonly decryptOnOpenPatterns: string[];
}

/**
 * The profile chosen with Select AWS Profile lives in workspace state (per user and workspace,
 * never in a file a teammate shares); the `kmsEnvelope.profile` setting is the fallback.
 */
export function readSettings(state: vscode.Memento): Settings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const blank = (s: string | undefined) => (s && s.trim() ? s.trim() : undefined);
  return {
    profile: blank(state.get<string>(PROFILE_STATE)) ?? blank(c.get<string>('profile')),
    region: blank(c.get<string>('region')),
    keyId: blank(c.get<string>('keyId')),
    encryptionContext: c.get<Record<string, string>>('encryptionContext') ?? {},
    allowedKeys: c.get<string[]>('allowedKeys') ?? [],
    cacheMaxAgeSeconds: c.get<number>('cacheMaxAgeSeconds') ?? 300,
    decryptOnOpen: c.get<boolean>('decryptOnOpen.enabled') ?? true,
    decryptOnOpenPatterns: c.get<string[]>('decryptOnOpen.patterns') ?? ['.env', '.env.*', '*.env'],
  };
}

/** A minimal glob for file names: `*` is any run of characters. */
export const matchesPattern = (fileName: string, patterns: readonly string[]): boolean =>
  patterns.some((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(fileName));
