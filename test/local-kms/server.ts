/**
 * A KMS-compatible HTTP server for tests and demos: the KMS JSON 1.1 protocol
 * (`X-Amz-Target: TrentService.<Action>`) on 127.0.0.1 for the operations kms-envelope uses.
 * Real AES-256-GCM wrapping bound to the encryption context, KMS-shaped errors, SigV4
 * signatures checked against known access keys, per-access-key permissions, fault injection
 * and a request log. Control it in-process (methods) or over HTTP (`/__admin/*`, loopback only).
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID, createHash } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';

export interface Account {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** Actions this key may call (`Decrypt`, `GenerateDataKey` …) or '*'. */
  actions?: readonly string[] | '*';
  /** Key ARNs this key may use, or '*'. */
  keys?: readonly string[] | '*';
}

/** `shortPlaintext`: a misbehaving endpoint that answers with a 16-byte data key. */
export type FaultKind = 'throttle' | 'error500' | 'reset' | 'delay' | 'expiredToken' | 'shortPlaintext';
export interface Fault {
  readonly kind: FaultKind;
  /** Only for this action (e.g. 'Decrypt'); all actions when absent. */
  readonly action?: string;
  /** How many requests it hits; Infinity for all until cleared. */
  times: number;
  readonly delayMs?: number;
}

/** One request, logged when it arrives (status 0 until answered), so slow ones count at once. */
export interface LogEntry {
  readonly action: string;
  accessKeyId: string;
  /** The region the request was signed for (SigV4's credential scope). */
  region?: string;
  keyArn?: string;
  status: number;
  error?: string;
}

interface Key {
  readonly id: string;
  readonly arn: string;
  readonly material: Buffer;
  enabled: boolean;
  readonly description: string;
}

export interface LocalKmsOptions {
  readonly accounts: readonly Account[];
  readonly region?: string;
  readonly accountId?: string;
  /** Persist keys, aliases and key states (key material included: a test server, not a vault). */
  readonly stateFile?: string;
  /**
   * The secret an admin call (`/__admin/*`) must carry in the `x-local-kms-admin` header. A web
   * page cannot send a custom header to another origin without a CORS preflight, which this
   * server never grants; without a token, the admin API is off.
   */
  readonly adminToken?: string;
  /**
   * Roles that STS AssumeRole (the same endpoint, for AWS_ENDPOINT_URL_STS) hands temporary
   * credentials for: their KMS actions, and the access keys allowed to assume them.
   */
  readonly roles?: readonly { readonly arn: string; readonly actions: Account['actions']; readonly assumableBy: readonly string[] }[];
}

class KmsError extends Error {
  constructor(readonly type: string, message: string, readonly status = 400) {
    super(message);
  }
}

const BLOB_VERSION = 1;

export class LocalKms {
  readonly region: string;
  readonly accountId: string;
  readonly log: LogEntry[] = [];
  private readonly keys = new Map<string, Key>();
  private readonly aliases = new Map<string, string>(); // alias/name -> key id
  private readonly accounts = new Map<string, Account>();
  private faults: Fault[] = [];
  private server?: http.Server;
  url = '';

  constructor(private readonly options: LocalKmsOptions) {
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '000000000000';
    for (const a of options.accounts) this.accounts.set(a.accessKeyId, { ...a });
    if (options.stateFile) this.load(options.stateFile);
  }

  /** The admin API's token, for a test runner that hands it to suites in another process. */
  get adminToken(): string | undefined {
    return this.options.adminToken;
  }

  // ---- in-process control

  /** A new key; `accountId` puts it in another account (a key an attacker controls, in tests). */
  createKey(description = '', accountId = this.accountId): string {
    const id = randomUUID();
    const arn = `arn:aws:kms:${this.region}:${accountId}:key/${id}`;
    this.keys.set(id, { id, arn, material: randomBytes(32), enabled: true, description });
    this.save();
    return arn;
  }

  createAlias(alias: string, keyIdOrArn: string): void {
    this.aliases.set(alias, this.findKey(keyIdOrArn).id);
    this.save();
  }

  /** The key ARN that a key id, ARN or alias names, if any. */
  keyArnOf(ref: string): string | undefined {
    try {
      return this.findKey(ref).arn;
    } catch {
      return undefined;
    }
  }

  setEnabled(keyIdOrArn: string, enabled: boolean): void {
    this.findKey(keyIdOrArn).enabled = enabled;
    this.save();
  }

  /** Every key, with its aliases (for the local KMS's own `list-keys`). */
  listKeys(): { arn: string; enabled: boolean; description: string; aliases: string[] }[] {
    return [...this.keys.values()].map((k) => ({
      arn: k.arn,
      enabled: k.enabled,
      description: k.description,
      aliases: [...this.aliases].filter(([, id]) => id === k.id).map(([a]) => a),
    }));
  }

  setPermissions(accessKeyId: string, actions: Account['actions'], keys: Account['keys'] = '*'): void {
    const a = this.accounts.get(accessKeyId);
    if (!a) throw new Error(`unknown access key ${accessKeyId}`);
    a.actions = actions;
    a.keys = keys;
  }

  injectFault(fault: Fault): void {
    this.faults.push({ ...fault });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Requests of these actions in the log (all when none are named). */
  count(...actions: string[]): number {
    return this.log.filter((e) => actions.length === 0 || actions.includes(e.action)).length;
  }

  /** Closes every open connection (clients connect again on their next request). */
  dropConnections(): void {
    this.server!.closeAllConnections();
  }

  /** Connections open to the server now (kept alive by clients between requests). */
  connections(): Promise<number> {
    return new Promise((resolve, reject) => this.server!.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  }

  async start(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = undefined;
  }

  // ---- HTTP

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    // a loopback server answers loopback names only: a page on another name (DNS rebinding) gets nothing
    const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) {
      res.writeHead(421);
      res.end();
      return;
    }
    this.reloadIfChanged();
    if (req.url?.startsWith('/__admin/')) {
      const token = this.options.adminToken;
      if (!token || req.headers['x-local-kms-admin'] !== token) {
        res.writeHead(403);
        res.end();
        return;
      }
      return this.admin(req.url, body, res);
    }

    if (/\/sts\/aws4_request/.test(String(req.headers.authorization ?? ''))) return this.sts(req, body, res);

    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : target || '?';
    const entry: LogEntry = { action, accessKeyId: '?', status: 0 };
    this.log.push(entry);
    const reply = (status: number, payload: unknown, error?: string): void => {
      entry.status = status;
      if (error) entry.error = error;
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': randomUUID(),
        ...(error ? { 'x-amzn-errortype': error } : {}),
      });
      res.end(JSON.stringify(payload));
    };
    try {
      const fault = this.takeFault(action);
      if (fault?.kind === 'reset') {
        entry.error = 'reset';
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.delayMs ?? 1000));
      if (fault?.kind === 'throttle') throw new KmsError('ThrottlingException', 'Rate exceeded');
      if (fault?.kind === 'error500') throw new KmsError('KMSInternalException', 'internal error (injected)', 500);
      if (fault?.kind === 'expiredToken') throw new KmsError('ExpiredTokenException', 'The security token included in the request is expired');

      const { account, region } = await this.authenticate(req, body);
      entry.accessKeyId = account.accessKeyId;
      entry.region = region;
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        throw new KmsError('SerializationException', 'malformed JSON');
      }
      const out = this.dispatch(action, input, account, (arn) => (entry.keyArn = arn));
      if (fault?.kind === 'shortPlaintext' && typeof out.Plaintext === 'string') out.Plaintext = Buffer.from(out.Plaintext, 'base64').subarray(0, 16).toString('base64');
      reply(200, out);
    } catch (err) {
      const e = err instanceof KmsError ? err : new KmsError('KMSInternalException', String(err), 500);
      reply(e.status, { __type: e.type, message: e.message }, e.type);
    }
  }

  private takeFault(action: string): Fault | undefined {
    const f = this.faults.find((x) => x.times > 0 && (!x.action || x.action === action));
    if (f) f.times--;
    return f;
  }

  /**
   * STS AssumeRole (query protocol): a signed request from an access key the role trusts gets
   * temporary credentials that act with the role's KMS actions (logged as AssumeRole, by the caller).
   */
  private async sts(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<void> {
    const entry: LogEntry = { action: 'AssumeRole', accessKeyId: '?', status: 0 };
    this.log.push(entry);
    const xml = (status: number, text: string): void => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
      res.end(text);
    };
    try {
      const { account } = await this.authenticate(req, body, 'sts');
      entry.accessKeyId = account.accessKeyId;
      const form = new URLSearchParams(body.toString('utf8'));
      const role = (this.options.roles ?? []).find((r) => r.arn === form.get('RoleArn'));
      if (form.get('Action') !== 'AssumeRole' || !role || !role.assumableBy.includes(account.accessKeyId)) {
        return xml(403, '<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform sts:AssumeRole</Message></Error></ErrorResponse>');
      }
      const temp: Account = { accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(20).toString('hex'), sessionToken: randomBytes(24).toString('hex'), actions: role.actions };
      this.accounts.set(temp.accessKeyId, temp);
      const expires = new Date(Date.now() + 3600_000).toISOString();
      xml(200, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>${temp.accessKeyId}</AccessKeyId><SecretAccessKey>${temp.secretAccessKey}</SecretAccessKey><SessionToken>${temp.sessionToken}</SessionToken><Expiration>${expires}</Expiration></Credentials><AssumedRoleUser><Arn>${role.arn}/${form.get('RoleSessionName') ?? ''}</Arn><AssumedRoleId>AROA:${form.get('RoleSessionName') ?? ''}</AssumedRoleId></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>`);
    } catch (err) {
      xml(403, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>${err instanceof Error ? err.message : 'denied'}</Message></Error></ErrorResponse>`);
    }
  }

  /** The role sessions made by AssumeRole, by access key: who acted under a role (tests). */
  roleSessions(): string[] {
    return [...this.accounts.keys()].filter((k) => k.startsWith('ASIA'));
  }

  private async authenticate(req: http.IncomingMessage, body: Buffer, service = 'kms'): Promise<{ account: Account; region: string }> {
    const auth = String(req.headers.authorization ?? '');
    const m = new RegExp(`^AWS4-HMAC-SHA256 Credential=([^/]+)\\/(\\d{8})\\/([^/]+)\\/${service}\\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$`).exec(auth);
    if (!m) throw new KmsError('MissingAuthenticationTokenException', 'Request is missing Authentication Token');
    const [, akid, , region, signedHeaders, signature] = m;
    const account = this.accounts.get(akid);
    if (!account) throw new KmsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
    if (account.sessionToken && req.headers['x-amz-security-token'] !== account.sessionToken) {
      throw new KmsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
    }
    const headers: Record<string, string> = {};
    for (const h of signedHeaders.split(';')) headers[h] = String(req.headers[h] ?? '');
    const date = headers['x-amz-date'];
    const signingDate = new Date(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`);
    if (!date || Number.isNaN(signingDate.getTime()) || Math.abs(Date.now() - signingDate.getTime()) > 15 * 60_000) {
      throw new KmsError('InvalidSignatureException', 'Signature expired or x-amz-date missing');
    }
    const signer = new SignatureV4({ credentials: account, region, service, sha256: Sha256, applyChecksum: false });
    const [path, query = ''] = (req.url ?? '/').split('?');
    const signed = await signer.sign(
      { method: req.method ?? 'POST', protocol: 'http:', hostname: headers.host ?? '', path, query: Object.fromEntries(new URLSearchParams(query)), headers, body },
      { signingDate },
    );
    const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1];
    if (expected !== signature) {
      throw new KmsError('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.');
    }
    return { account, region };
  }

  private dispatch(action: string, input: Record<string, unknown>, account: Account, onKey: (arn: string) => void): Record<string, unknown> {
    const use = (keyId: unknown, act = action): Key => {
      const key = this.findKey(String(keyId ?? ''));
      onKey(key.arn);
      this.authorize(account, act, key);
      if (!key.enabled) throw new KmsError('DisabledException', `${key.arn} is disabled.`);
      return key;
    };
    const ctx = (v: unknown): Record<string, string> => (v && typeof v === 'object' ? (v as Record<string, string>) : {});
    switch (action) {
      case 'CreateKey': {
        this.authorize(account, action);
        const arn = this.createKey(String(input.Description ?? ''));
        return { KeyMetadata: this.metadata(this.findKey(arn)) };
      }
      case 'CreateAlias': {
        this.authorize(account, action);
        this.createAlias(String(input.AliasName), String(input.TargetKeyId));
        return {};
      }
      case 'ListAliases': {
        this.authorize(account, action);
        // as KMS does: pages of Limit (1 to 100, 50 by default), and an AWS managed alias with no key behind it yet
        const all = [{ AliasName: 'alias/aws/s3', AliasArn: `arn:aws:kms:${this.region}:${this.accountId}:alias/aws/s3` }, ...[...this.aliases].map(([name, id]) => ({ AliasName: name, AliasArn: `arn:aws:kms:${this.region}:${this.accountId}:${name}`, TargetKeyId: id }))];
        const limit = Number(input.Limit ?? 50);
        if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new KmsError('ValidationException', 'Limit must be between 1 and 100');
        const from = input.Marker === undefined ? 0 : Number(Buffer.from(String(input.Marker), 'base64').toString());
        if (!Number.isInteger(from) || from < 0 || from > all.length) throw new KmsError('InvalidMarkerException', 'The marker is not valid');
        const page = all.slice(from, from + limit);
        const next = from + page.length;
        return { Aliases: page, Truncated: next < all.length, ...(next < all.length ? { NextMarker: Buffer.from(String(next)).toString('base64') } : {}) };
      }
      case 'DescribeKey':
        return { KeyMetadata: this.metadata(use(input.KeyId)) };
      case 'EnableKey':
      case 'DisableKey':
        use(input.KeyId).enabled = action === 'EnableKey';
        return {};
      case 'GenerateDataKey': {
        if (input.KeySpec !== 'AES_256' && input.NumberOfBytes !== 32) throw new KmsError('ValidationException', 'KeySpec must be AES_256');
        const key = use(input.KeyId);
        const plaintext = randomBytes(32);
        return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), CiphertextBlob: this.wrap(key, plaintext, ctx(input.EncryptionContext)).toString('base64') };
      }
      case 'Encrypt': {
        const key = use(input.KeyId);
        return { KeyId: key.arn, CiphertextBlob: this.wrap(key, Buffer.from(String(input.Plaintext), 'base64'), ctx(input.EncryptionContext)).toString('base64') };
      }
      case 'Decrypt': {
        const blob = Buffer.from(String(input.CiphertextBlob ?? ''), 'base64');
        const key = use(this.blobKeyId(blob));
        if (input.KeyId !== undefined && this.findKey(String(input.KeyId)).id !== key.id) {
          throw new KmsError('IncorrectKeyException', 'The key ID in the request does not identify the key used to encrypt the ciphertext.');
        }
        return { KeyId: key.arn, Plaintext: this.unwrap(key, blob, ctx(input.EncryptionContext)).toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
      }
      case 'ReEncrypt': {
        const blob = Buffer.from(String(input.CiphertextBlob ?? ''), 'base64');
        const source = use(this.blobKeyId(blob), 'ReEncryptFrom');
        if (input.SourceKeyId !== undefined && this.findKey(String(input.SourceKeyId)).id !== source.id) {
          throw new KmsError('IncorrectKeyException', 'The source key ID does not identify the key used to encrypt the ciphertext.');
        }
        const plain = this.unwrap(source, blob, ctx(input.SourceEncryptionContext));
        const dest = use(input.DestinationKeyId, 'ReEncryptTo');
        return { KeyId: dest.arn, SourceKeyId: source.arn, CiphertextBlob: this.wrap(dest, plain, ctx(input.DestinationEncryptionContext)).toString('base64') };
      }
      default:
        throw new KmsError('UnknownOperationException', `${action} is not supported by the local KMS`);
    }
  }

  private authorize(account: Account, action: string, key?: Key): void {
    const actions = account.actions ?? '*';
    const keys = account.keys ?? '*';
    const actionOk = actions === '*' || actions.includes(action) || (action.startsWith('ReEncrypt') && actions.includes('ReEncrypt*'));
    const keyOk = !key || keys === '*' || keys.includes(key.arn);
    if (!actionOk || !keyOk) {
      throw new KmsError('AccessDeniedException', `User ${account.accessKeyId} is not authorized to perform: kms:${action} on resource: ${key?.arn ?? '*'}`);
    }
  }

  private findKey(ref: string): Key {
    let id = ref;
    const aliasAt = ref.indexOf('alias/');
    if (aliasAt !== -1) id = this.aliases.get(ref.slice(aliasAt)) ?? '';
    else if (ref.startsWith('arn:')) id = ref.slice(ref.indexOf(':key/') + 5);
    const key = this.keys.get(id);
    if (!key) throw new KmsError('NotFoundException', `Key '${ref}' does not exist`);
    return key;
  }

  private metadata(k: Key): unknown {
    return { KeyId: k.id, Arn: k.arn, Enabled: k.enabled, KeyState: k.enabled ? 'Enabled' : 'Disabled', Description: k.description, KeyUsage: 'ENCRYPT_DECRYPT', KeySpec: 'SYMMETRIC_DEFAULT', AWSAccountId: this.accountId };
  }

  // Blob: version(1) ‖ key id (36 ASCII) ‖ iv(12) ‖ ciphertext ‖ tag(16); AAD = the sorted context.
  private wrap(key: Key, plaintext: Buffer, context: Record<string, string>): Buffer {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key.material, iv);
    c.setAAD(contextAad(context));
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    return Buffer.concat([Buffer.from([BLOB_VERSION]), Buffer.from(key.id, 'ascii'), iv, ct, c.getAuthTag()]);
  }

  private blobKeyId(blob: Buffer): string {
    if (blob.length < 1 + 36 + 12 + 16 || blob[0] !== BLOB_VERSION) throw new KmsError('InvalidCiphertextException', 'invalid ciphertext');
    const id = blob.subarray(1, 37).toString('ascii');
    if (!this.keys.has(id)) throw new KmsError('InvalidCiphertextException', 'invalid ciphertext');
    return id;
  }

  private unwrap(key: Key, blob: Buffer, context: Record<string, string>): Buffer {
    try {
      const d = createDecipheriv('aes-256-gcm', key.material, blob.subarray(37, 49));
      d.setAAD(contextAad(context));
      d.setAuthTag(blob.subarray(blob.length - 16));
      return Buffer.concat([d.update(blob.subarray(49, blob.length - 16)), d.final()]);
    } catch {
      throw new KmsError('InvalidCiphertextException', 'invalid ciphertext or encryption context');
    }
  }

  // ---- admin over HTTP (for suites in another process: the VS Code extension host)

  private admin(url: string, body: Buffer, res: http.ServerResponse): void {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- admin input is checked by the methods it reaches
    let input: any;
    try {
      input = body.length ? JSON.parse(body.toString('utf8')) : {};
    } catch {
      res.writeHead(400);
      res.end();
      return;
    }
    const ok = (v: unknown = {}): void => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    switch (url) {
      case '/__admin/log':
        return ok(this.log);
      case '/__admin/clear-log':
        this.log.length = 0;
        return ok();
      case '/__admin/fault':
        this.injectFault({ ...input, times: input.times ?? 1 });
        return ok();
      case '/__admin/clear-faults':
        this.clearFaults();
        return ok();
      case '/__admin/permissions':
        this.setPermissions(input.accessKeyId, input.actions, input.keys);
        return ok();
      case '/__admin/enable':
        this.setEnabled(input.keyId, input.enabled);
        return ok();
      default:
        res.writeHead(404);
        res.end();
    }
  }

  // ---- state file

  private save(): void {
    if (!this.options.stateFile) return;
    const state = {
      keys: [...this.keys.values()].map((k) => ({ id: k.id, arn: k.arn, material: k.material.toString('base64'), enabled: k.enabled, description: k.description })),
      aliases: Object.fromEntries(this.aliases),
    };
    const tmp = `${this.options.stateFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
    renameSync(tmp, this.options.stateFile);
    this.loadedMtime = statSync(this.options.stateFile).mtimeMs;
  }

  private loadedMtime = 0;

  /** Keys made by the local KMS's own command line while the server runs are served at once. */
  private reloadIfChanged(): void {
    const file = this.options.stateFile;
    if (!file) return;
    const mtime = statSync(file, { throwIfNoEntry: false })?.mtimeMs;
    if (mtime !== undefined && mtime !== this.loadedMtime) this.load(file);
  }

  private load(file: string): void {
    let state: { keys: { id: string; arn: string; material: string; enabled: boolean; description: string }[]; aliases: Record<string, string> };
    try {
      state = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      return;
    }
    for (const k of state.keys) this.keys.set(k.id, { ...k, material: Buffer.from(k.material, 'base64') });
    for (const [a, id] of Object.entries(state.aliases)) this.aliases.set(a, id);
    this.loadedMtime = statSync(file).mtimeMs;
  }
}

const contextAad = (ctx: Record<string, string>): Buffer =>
  createHash('sha256')
    .update(JSON.stringify(Object.keys(ctx).sort().map((k) => [k, ctx[k]])))
    .digest();
