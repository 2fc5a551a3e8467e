// Git smart-HTTP server for tests: token auth like Azure Repos, git-http-backend as CGI.
// Runs as its own process (spawned by gitServer.ts) so synchronous git calls in tests cannot
// deadlock it. Usage: node git-http-server.mjs <projectRoot> <port|0>, token in GIT_TEST_TOKEN.
// Prints `listening <port>` once, then `request` per request; exits when its stdin closes.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';

const [projectRoot, portArg] = process.argv.slice(2);
const token = process.env.GIT_TEST_TOKEN;
if (!projectRoot || !token) {
  process.stderr.write('usage: GIT_TEST_TOKEN=... node git-http-server.mjs <projectRoot> <port>\n');
  process.exit(2);
}

function isAuthorized(header) {
  if (!header) return false;
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return value === token;
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1) === token;
  }
  return false;
}

function parseCgiHeaders(text) {
  let status = 200;
  const headers = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
    else headers[name] = value;
  }
  return { status, headers };
}

function runBackend(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const env = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    REMOTE_USER: 'gitops-test',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
  };
  // Without CONTENT_LENGTH (chunked request) the backend reads the body until EOF.
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  if (req.headers['git-protocol']) env.GIT_PROTOCOL = req.headers['git-protocol'];

  const backend = spawn('/usr/lib/git-core/git-http-backend', [], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  req.pipe(backend.stdin);
  backend.stdin.on('error', () => {});
  let head = Buffer.alloc(0);
  let headersSent = false;
  backend.stdout.on('data', (chunk) => {
    if (headersSent) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const text = head.toString('latin1');
    const crlf = text.indexOf('\r\n\r\n');
    const lf = text.indexOf('\n\n');
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
    if (end < 0) return;
    const { status, headers } = parseCgiHeaders(text.slice(0, end));
    res.writeHead(status, headers);
    headersSent = true;
    if (end < head.length) res.write(head.subarray(end));
  });
  backend.on('close', (code) => {
    if (!headersSent) {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`git-http-backend exited with ${code}\n`);
      return;
    }
    res.end();
  });
  res.on('close', () => {
    if (backend.exitCode === null) backend.kill('SIGKILL');
  });
}

// GIT_TEST_HOST: the loopback address to listen on; GIT_TEST_TLS_CERT/KEY: serve https instead.
const tls = process.env.GIT_TEST_TLS_CERT ? { cert: readFileSync(process.env.GIT_TEST_TLS_CERT), key: readFileSync(process.env.GIT_TEST_TLS_KEY) } : undefined;
const server = (tls ? (handler) => createTlsServer(tls, handler) : createServer)((req, res) => {
  process.stdout.write('request\n');
  if (!isAuthorized(req.headers.authorization)) {
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git-test"', 'Content-Type': 'text/plain' });
    res.end('TF401019-like: authentication required\n');
    return;
  }
  runBackend(req, res);
});

server.listen(Number(portArg ?? 0), process.env.GIT_TEST_HOST || '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});

// The parent holds our stdin open; when it goes away (even by SIGKILL), so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
