/**
 * A static file server on 127.0.0.1 for chart repositories and http static manifests, with
 * optional basic auth and a request log (to prove that a cached run fetched nothing).
 *
 *   const server = await serveDirectory(dir, { auth: { username: 'u', password: 'p' } });
 *   server.url        // http://127.0.0.1:PORT
 *   server.requests   // ['GET /index.yaml', ...]
 *   await server.stop();
 *
 * Files get an ETag (sha256 of the bytes), and If-None-Match answers 304.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { runProcess } from '../../tasks/core/exec';
import { tempDir } from './tmp';

export interface FileServer {
  url: string;
  requests: string[];
  stop(): Promise<void>;
}

export async function serveDirectory(root: string, options: { auth?: { username: string; password: string }; port?: number } = {}): Promise<FileServer> {
  const requests: string[] = [];
  const expected = options.auth ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}` : undefined;
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (expected && req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="charts"' }).end();
      return;
    }
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^(\.\.[/\\])+/, '');
    readFile(join(root, path)).then(
      (body) => {
        const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304, { etag }).end();
          return;
        }
        res.writeHead(200, { etag, 'content-length': body.length }).end(body);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** `helm create` a chart named `name` in a new folder, optionally customised by `edit(chartDir)`. */
export async function createChart(helm: string, name: string, edit?: (chartDir: string) => Promise<void> | void): Promise<string> {
  const dir = tempDir('bg-chart-');
  const result = await runProcess(helm, ['create', name], { cwd: dir, env: isolatedHelmEnv() });
  if (result.code !== 0) throw new Error(result.stderr);
  if (edit) await edit(join(dir, name));
  return join(dir, name);
}

/** Packages charts into a folder with an index.yaml: a chart repository ready to serve. */
export async function buildChartRepository(helm: string, chartDirs: string[]): Promise<string> {
  const repo = tempDir('bg-repo-');
  for (const chart of chartDirs) {
    const packaged = await runProcess(helm, ['package', chart, '--destination', repo], { cwd: repo, env: isolatedHelmEnv() });
    if (packaged.code !== 0) throw new Error(packaged.stderr);
  }
  const indexed = await runProcess(helm, ['repo', 'index', repo], { cwd: repo, env: isolatedHelmEnv() });
  if (indexed.code !== 0) throw new Error(indexed.stderr);
  return repo;
}

let helmHome: string | undefined;
export function isolatedHelmEnv(): NodeJS.ProcessEnv {
  helmHome ??= tempDir('bg-helmhome-');
  return {
    PATH: process.env.PATH,
    HOME: helmHome,
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
  };
}
