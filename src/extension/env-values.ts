/**
 * Decrypted env-file values for the programs the editor starts (debug sessions, tasks,
 * terminals), in the commands bundle: the values go into a child's environment and nowhere
 * else, and a variable that changes what code runs (PATH, NODE_OPTIONS, LD_* …) is never taken
 * from a file (a committer writes it); it is left out and named in the log.
 */
import vscode = require('vscode');
import { mergeEnv } from '../core/env-policy';
import { loadEnvFiles } from '../core/operations';
import { foldDebugEnv, openEnvFiles } from '../core/run-env';
import type { Keys } from './keys';
import { withProgress } from './progress';

export class EnvValues {
  constructor(
    private readonly keys: Keys,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /**
   * A debug configuration whose encrypted envFile(s) are folded into `env` (one KMS call per
   * file, none while its data key is cached); plain and missing files stay in envFile.
   */
  async debug(config: vscode.DebugConfiguration, files: readonly string[]): Promise<vscode.DebugConfiguration> {
    const opened = await withProgress(`decrypting the env file of "${config.name}"`, () => openEnvFiles(files, this.keys.service()));
    const folded = foldDebugEnv(config.env as Record<string, string | null> | undefined, opened);
    this.leftOut(folded.blocked, `the launch "${config.name}"`);
    const { envFile: _replaced, ...rest } = config;
    const envFile = folded.envFile.length === 0 ? {} : { envFile: Array.isArray(config.envFile) ? folded.envFile : folded.envFile[0] };
    this.log.info(`launch "${config.name}": ${opened.filter((f) => f.kind === 'encrypted').length} encrypted env file(s) decrypted into its environment`);
    return { ...rest, ...envFile, env: folded.env };
  }

  /** The variables a child gets from env files (later files win), loader variables left out. */
  async values(files: readonly string[], what: string, opts: { allowPlaintext?: boolean } = {}): Promise<Record<string, string>> {
    const values = await withProgress(`decrypting the env file of ${what}`, () => loadEnvFiles(files, this.keys.service(), opts));
    // merged over nothing, the result is exactly the file's values the policy lets through
    const { env, blocked } = mergeEnv({}, values);
    this.leftOut(blocked, what);
    return env as Record<string, string>;
  }

  private leftOut(blocked: readonly string[], what: string): void {
    if (blocked.length === 0) return;
    const msg = `${blocked.join(', ')} left out of ${what}: a file may not set variables that change what code runs (set them in the configuration itself)`;
    this.log.warn(msg);
    void vscode.window.showWarningMessage(`KMS Envelope: ${msg}`);
  }
}
