/** One small JSON GET client for the Kubernetes and Argo CD APIs: TLS with the cluster's CA, no redirects, bounded bodies. */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { GitopsError } from '../errors';
import { isSecureOrLoopback } from '../net';

export interface TlsOptions {
  /** PEM of the CA that signed the server certificate (kubeconfig certificate-authority[-data]). */
  ca?: string;
  cert?: string;
  key?: string;
  /** kubeconfig insecure-skip-tls-verify. */
  insecureSkipVerify?: boolean;
}

export interface GetJsonOptions extends TlsOptions {
  bearerToken?: string;
  /** Names the setting in errors (the task input or CLI flag). */
  field: string;
  timeoutMs?: number;
  /** Secrets to keep out of error messages. */
  secrets?: readonly string[];
}

const MAX_BODY = 4 * 1024 * 1024;

export class HttpStatusError extends GitopsError {
  constructor(readonly status: number, message: string, field: string, hint?: string) {
    super(message, { field, hint });
  }
}

/** GET `url` and parse its JSON body; non-2xx answers throw HttpStatusError. */
export function getJson(url: URL, options: GetJsonOptions): Promise<unknown> {
  if (!isSecureOrLoopback(url)) {
    throw new GitopsError(`${url.origin} is not https: credentials are only sent over TLS (or to this machine)`, { field: options.field, hint: 'use the https:// URL of the API' });
  }
  const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'bedrock-gitops' };
  if (options.bearerToken) headers.Authorization = `Bearer ${options.bearerToken}`;
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'GET',
      headers,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      rejectUnauthorized: !options.insecureSkipVerify,
      timeout: options.timeoutMs ?? 30_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY) {
          req.destroy(new GitopsError(`${url.origin} answered with more than ${MAX_BODY} bytes`, { field: options.field }));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          let reason = '';
          try {
            const body = JSON.parse(text) as { message?: unknown; error?: unknown };
            reason = typeof body.message === 'string' ? body.message : typeof body.error === 'string' ? body.error : '';
          } catch { /* not JSON */ }
          for (const secret of options.secrets ?? []) if (secret) reason = reason.split(secret).join('***');
          reject(new HttpStatusError(status, `GET ${url.pathname} answered HTTP ${status}${reason ? `: ${reason.slice(0, 300)}` : ''}`, options.field,
            status === 401 || status === 403 ? 'check the credentials and that they may read this object' : status === 404 ? 'check the name and namespace' : undefined));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new GitopsError(`GET ${url.pathname} did not answer JSON`, { field: options.field }));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new GitopsError(`GET ${url.origin}${url.pathname} timed out`, { field: options.field })));
    req.on('error', (error) => reject(error instanceof GitopsError ? error : new GitopsError(`GET ${url.origin}${url.pathname} failed: ${error.message}`, { field: options.field, cause: error })));
    req.end();
  });
}
