/**
 * Real OCI registries for tests: Debian `docker-registry` (distribution 2.8.2) on 127.0.0.1.
 *
 *   const reg = await startRegistry();                       // anonymous
 *   const reg = await startRegistry({ auth: 'htpasswd' });   // Basic; reg.username / reg.password
 *   const reg = await startRegistry({ auth: 'token' });      // Bearer challenge, RS256 JWTs from an
 *                                                            // in-process token issuer (reg.tokenRequests)
 *   reg.host      // "127.0.0.1:PORT"
 *   await reg.stop();   // SIGTERM and wait;  reg.kill() = SIGKILL now (simulates a crash)
 *
 * Options: `users` (name -> password, default { tester: 'secret-pass-1' }), `dataDir` (reuse the
 * storage of a previous registry, e.g. to inspect it after kill()), `host` (the loopback address to
 * listen on, default 127.0.0.1; 127.0.0.2 keeps clients from bypassing a proxy for "localhost"),
 * `tls` (PEM certificate and key files: the registry speaks https only).
 * Token mode also emulates ACR's Azure AD exchange: `POST /oauth2/exchange` (access_token =
 * `aadTokens[...]`) returns a refresh token, `POST /oauth2/token` trades it for an access token;
 * pass `tokenRealmPath: '/oauth2/token'` to advertise that realm like ACR does.
 * Children are killed when the test process exits. Talk to the registry only with async child
 * processes: the token issuer runs in this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSign, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runProcess } from '../../tasks/core/exec';
import { tempDir } from './tmp';

export interface TokenRequestRecord {
  method: string;
  path: string;
  account?: string;
  scopes: string[];
  /** 'basic' credentials, 'refresh' token (ACR exchange), or 'anonymous'. */
  via: 'basic' | 'refresh' | 'anonymous';
}

export interface StartRegistryOptions {
  auth?: 'none' | 'htpasswd' | 'token';
  users?: Record<string, string>;
  dataDir?: string;
  /** Token mode: the realm path the registry advertises (default `/token`). */
  tokenRealmPath?: string;
  /** Token mode: AAD access tokens accepted by `/oauth2/exchange`, mapped to the account name. */
  aadTokens?: Record<string, string>;
  /** Token mode: lifetime of issued tokens (default 300 s). */
  tokenLifetimeSeconds?: number;
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
  /** Serve https with this certificate and key (PEM files). */
  tls?: { certFile: string; keyFile: string };
}

export interface TestRegistry {
  host: string;
  username?: string;
  password?: string;
  dataDir: string;
  logFile: string;
  /** Token mode: every request the issuer answered (for scope assertions). */
  tokenRequests: TokenRequestRecord[];
  stop(): Promise<void>;
  kill(): void;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A free TCP port on 127.0.0.1 (the registry needs its address in its config file). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let issuerKeyPair: { keyPem: string; certPem: string; certPath: string } | undefined;

async function issuerCertificate(): Promise<{ keyPem: string; certPem: string; certPath: string }> {
  if (issuerKeyPair) return issuerKeyPair;
  const dir = tempDir('bg-issuer-');
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const made = await runProcess('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath,
    '-days', '2', '-subj', '/CN=test-token-issuer',
  ]);
  if (made.code !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  issuerKeyPair = { keyPem: readFileSync(keyPath, 'utf8'), certPem: readFileSync(certPath, 'utf8'), certPath };
  return issuerKeyPair;
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

function signJwt(claims: object, keyPem: string, certPem: string): string {
  const der = certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');
  const header = { alg: 'RS256', typ: 'JWT', x5c: [der] };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = createSign('RSA-SHA256').update(signingInput).sign(keyPem);
  return `${signingInput}.${base64url(signature)}`;
}

/** `repository:a/b:pull,push` (several may be space-joined) -> distribution's access claim. */
function accessFromScopes(scopes: string[]): { type: string; name: string; actions: string[] }[] {
  const access: { type: string; name: string; actions: string[] }[] = [];
  for (const scope of scopes.flatMap((s) => s.split(' ')).filter(Boolean)) {
    const parts = scope.split(':');
    if (parts.length < 3) continue;
    const actions = parts.pop()!.split(',').filter(Boolean);
    const [type, ...name] = parts;
    access.push({ type, name: name.join(':'), actions });
  }
  return access;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

interface IssuerConfig {
  service: string;
  issuer: string;
  users: Record<string, string>;
  aadTokens: Record<string, string>;
  lifetime: number;
  records: TokenRequestRecord[];
  /** Where it listens: the registry's own address, as ACR's token service is the registry itself. */
  host: string;
}

async function startTokenIssuer(config: IssuerConfig): Promise<{ server: Server; port: number }> {
  const { keyPem, certPem } = await issuerCertificate();
  const refreshTokens = new Map<string, string>();
  const issue = (account: string | undefined, scopes: string[]) => {
    const now = Math.floor(Date.now() / 1000);
    return signJwt({
      iss: config.issuer, sub: account ?? '', aud: config.service, exp: now + config.lifetime,
      nbf: now - 10, iat: now, jti: randomUUID(), access: account ? accessFromScopes(scopes) : [],
    }, keyPem, certPem);
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://issuer');
    const send = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.method === 'POST' && url.pathname === '/oauth2/exchange') {
        const form = new URLSearchParams(await readBody(req));
        const account = config.aadTokens[form.get('access_token') ?? ''];
        if (form.get('grant_type') !== 'access_token' || !account || form.get('service') !== config.service) {
          return send(401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid AAD access token' }] });
        }
        const refresh = randomUUID();
        refreshTokens.set(refresh, account);
        config.records.push({ method: 'POST', path: url.pathname, account, scopes: [], via: 'refresh' });
        return send(200, { refresh_token: refresh });
      }
      if (req.method === 'POST' && url.pathname === '/oauth2/token') {
        const form = new URLSearchParams(await readBody(req));
        const account = refreshTokens.get(form.get('refresh_token') ?? '');
        if (form.get('grant_type') !== 'refresh_token' || !account) {
          return send(401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid refresh token' }] });
        }
        const scopes = form.getAll('scope');
        config.records.push({ method: 'POST', path: url.pathname, account, scopes, via: 'refresh' });
        return send(200, { access_token: issue(account, scopes) });
      }
      if (req.method === 'GET') {
        const scopes = url.searchParams.getAll('scope');
        const authHeader = req.headers.authorization ?? '';
        let account: string | undefined;
        if (authHeader.toLowerCase().startsWith('basic ')) {
          const decoded = Buffer.from(authHeader.slice(6), 'base64').toString('utf8');
          const colon = decoded.indexOf(':');
          const [user, pass] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
          if (config.users[user] === undefined || config.users[user] !== pass) {
            return send(401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] });
          }
          account = user;
        }
        config.records.push({ method: 'GET', path: url.pathname, account, scopes, via: account ? 'basic' : 'anonymous' });
        const token = issue(account, scopes);
        return send(200, { token, access_token: token, expires_in: config.lifetime, issued_at: new Date().toISOString() });
      }
      send(404, { errors: [{ code: 'NOT_FOUND', message: 'unknown issuer endpoint' }] });
    } catch (error) {
      send(500, { errors: [{ code: 'UNKNOWN', message: String(error) }] });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, config.host, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function probe(host: string, tls: boolean): Promise<number> {
  return new Promise((resolve) => {
    // The readiness probe only: the certificate is the test's own, checked by the tests themselves.
    const req = (tls ? httpsRequest : request)(`${tls ? 'https' : 'http'}://${host}/v2/`, { method: 'GET', rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const auth = options.auth ?? 'none';
  const users = options.users ?? { tester: 'secret-pass-1' };
  const dir = tempDir('bg-registry-');
  const dataDir = options.dataDir ?? join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const host = `${options.host ?? '127.0.0.1'}:${port}`;
  const tokenRequests: TokenRequestRecord[] = [];
  let issuer: Server | undefined;

  const lines = [
    'version: 0.1',
    'log: { level: warn, accesslog: { disabled: true } }',
    `storage: { filesystem: { rootdirectory: "${dataDir}" }, delete: { enabled: true } }`,
    `http: { addr: "${host}", secret: test-only${options.tls ? `, tls: { certificate: "${options.tls.certFile}", key: "${options.tls.keyFile}" }` : ''} }`,
  ];
  if (auth === 'htpasswd') {
    const entries: string[] = [];
    for (const [user, pass] of Object.entries(users)) {
      const made = await runProcess('htpasswd', ['-Bbn', '-C', '4', user, pass]);
      if (made.code !== 0) throw new Error(`htpasswd failed: ${made.stderr}`);
      entries.push(made.stdout.trim());
    }
    const htpasswdPath = join(dir, 'htpasswd');
    writeFileSync(htpasswdPath, entries.join('\n') + '\n');
    lines.push(`auth: { htpasswd: { realm: test-registry, path: "${htpasswdPath}" } }`);
  } else if (auth === 'token') {
    const service = `test-registry-${port}`;
    const started = await startTokenIssuer({
      service, issuer: 'test-issuer', users, aadTokens: options.aadTokens ?? {},
      lifetime: options.tokenLifetimeSeconds ?? 300, records: tokenRequests, host: options.host ?? '127.0.0.1',
    });
    issuer = started.server;
    const { certPath } = await issuerCertificate();
    const realm = `http://${options.host ?? '127.0.0.1'}:${started.port}${options.tokenRealmPath ?? '/token'}`;
    lines.push(`auth: { token: { realm: "${realm}", service: "${service}", issuer: test-issuer, rootcertbundle: "${certPath}" } }`);
  }
  const configPath = join(dir, 'config.yml');
  writeFileSync(configPath, lines.join('\n') + '\n');

  const logFile = join(dir, 'registry.log');
  const logFd = openSync(logFile, 'a');
  const child = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  running.add(child);
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    running.delete(child);
    resolve();
  }));

  const deadline = Date.now() + 15_000;
  while (true) {
    const status = await probe(host, !!options.tls);
    if (status === 200 || status === 401) break;
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      issuer?.close();
      throw new Error(`docker-registry did not start on ${host}: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 30));
  }

  const [username, password] = auth === 'none' ? [undefined, undefined] : Object.entries(users)[0];
  return {
    host, username, password, dataDir, logFile, tokenRequests,
    async stop() {
      if (!exited) child.kill('SIGTERM');
      await exitedPromise;
      if (issuer) {
        issuer.closeAllConnections();
        await new Promise<void>((resolve) => issuer!.close(() => resolve()));
      }
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}
