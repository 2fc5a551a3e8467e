/**
 * A real forward proxy for tests: Debian's tinyproxy with basic auth on 127.0.0.1, and its log,
 * read back as the list of requests it carried (CONNECT host:port for https and tunnels, the
 * absolute URL of proxied plain-http requests). Also a private certificate authority made with
 * openssl, and a server certificate for a loopback address signed by it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { runProcess } from '../../tasks/core/exec';
import { tempDir } from './tmp';

export interface ForwardProxy {
  url: string;
  username: string;
  password: string;
  /** `host:port` of every request the proxy carried (and accepted), in order. */
  targets(): string[];
  /** Requests refused for wrong or missing credentials (HTTP 407). */
  refusals(): number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startForwardProxy(credentials = { username: 'agent', password: 'proxy-pass-Xq81' }): Promise<ForwardProxy> {
  const dir = tempDir('tinyproxy-');
  const port = await freePort();
  const log = join(dir, 'proxy.log');
  writeFileSync(log, '');
  // No ConnectPort line: with one, CONNECT to any other port is refused.
  writeFileSync(join(dir, 'tinyproxy.conf'), [
    `Port ${port}`, 'Listen 127.0.0.1', `LogFile "${log}"`, 'LogLevel Connect', 'MaxClients 100',
    `BasicAuth ${credentials.username} ${credentials.password}`, '',
  ].join('\n'));
  const child: ChildProcess = spawn('tinyproxy', ['-d', '-c', join(dir, 'tinyproxy.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.resume();
  await waitForPort(port);
  const lines = () => readFileSync(log, 'utf8').split('\n');
  return {
    url: `http://127.0.0.1:${port}`,
    ...credentials,
    targets() {
      const targets: string[] = [];
      for (const line of lines()) {
        const request = /Request \(file descriptor \d+\): (?:CONNECT (\S+)|[A-Z]+ [a-z]+:\/\/([^/\s]+))/.exec(line);
        if (request) targets.push(request[1] ?? request[2]);
      }
      return targets;
    },
    refusals() {
      return lines().filter((line) => /Proxy-Authorization|authentication|407/i.test(line) && /fail|denied|407|missing/i.test(line)).length;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = require('node:net').connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`tinyproxy did not listen on ${port}`);
}

export interface PrivateCa {
  caFile: string;
  /** Certificate and key for `ip` (subjectAltName IP), signed by the CA. */
  serverCertificate(ip: string): Promise<{ certFile: string; keyFile: string }>;
}

export async function createPrivateCa(): Promise<PrivateCa> {
  const dir = tempDir('private-ca-');
  const openssl = async (args: string[]) => {
    const result = await runProcess('openssl', args, { cwd: dir, timeoutMs: 60_000 });
    if (result.code !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
  };
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=bedrock-gitops test CA']);
  let serial = 0;
  return {
    caFile: join(dir, 'ca.crt'),
    async serverCertificate(ip) {
      const name = `server-${++serial}`;
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=IP:${ip}\n`);
      await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${ip}`]);
      await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
      return { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
    },
  };
}
