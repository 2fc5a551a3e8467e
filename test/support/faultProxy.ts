/**
 * An HTTP proxy on 127.0.0.1 in front of a test registry that records every request and injects
 * bounded faults, for reliability tests.
 *
 *   const proxy = await startFaultProxy({ target: registry.host,
 *     unavailable: { count: 3, retryAfterSeconds: 1 },   // answer 503 + Retry-After (3 times)
 *     resets: { count: 2 },                              // destroy the connection (before or mid-body)
 *     corrupt: { match: /\/blobs\/sha256:/, count: 99 }, // flip one byte of matching GET bodies
 *   });
 *   proxy.host                         // use instead of registry.host
 *   proxy.count('PUT', /\/blobs\/uploads\//)  // how many requests matched
 *   proxy.faultsInjected               // { unavailable, resets, corrupted }
 *   await proxy.stop();
 *   // onRequest: (r) => { ... } sees each request before it is forwarded.
 *
 * Faults hit requests at random (seeded, `probability` default 0.35) until their count is used up;
 * `match` limits which requests (method + ' ' + path?query) may be hit. The Host header is passed on
 * unchanged, so Location headers the registry builds point back at the proxy.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Transform } from 'node:stream';

interface Fault { count: number; match?: RegExp; probability?: number }

export interface FaultProxyOptions {
  target: string;
  unavailable?: Fault & { retryAfterSeconds?: number };
  resets?: Fault;
  corrupt?: Fault;
  seed?: number;
  /** Called for every request before it is forwarded (e.g. to kill the registry at a chosen moment). */
  onRequest?: (request: RecordedRequest) => void;
}

export interface RecordedRequest { method: string; path: string; status?: number; fault?: string }

export interface FaultProxy {
  host: string;
  requests: RecordedRequest[];
  count(method: string, pattern: RegExp): number;
  faultsInjected: { unavailable: number; resets: number; corrupted: number };
  stop(): Promise<void>;
}

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const random = seededRandom(options.seed ?? 7);
  const requests: RecordedRequest[] = [];
  const injected = { unavailable: 0, resets: 0, corrupted: 0 };
  const sockets = new Set<Socket>();
  const [targetHost, targetPort] = options.target.split(':');

  const strikes = (fault: Fault | undefined, used: number, line: string) =>
    !!fault && used < fault.count && (!fault.match || fault.match.test(line)) && random() < (fault.probability ?? 0.35);

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    const line = `${req.method} ${path}`;
    const record: RecordedRequest = { method: req.method ?? 'GET', path };
    requests.push(record);
    options.onRequest?.(record);

    if (strikes(options.unavailable, injected.unavailable, line)) {
      injected.unavailable++;
      record.fault = 'unavailable';
      record.status = 503;
      req.resume();
      res.writeHead(503, { 'retry-after': String(options.unavailable!.retryAfterSeconds ?? 1), 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'injected by fault proxy' }] }));
      return;
    }
    const reset = strikes(options.resets, injected.resets, line);
    if (reset) {
      injected.resets++;
      record.fault = 'reset';
      if (random() < 0.5) {
        req.socket.destroy();
        return;
      }
    }
    const corrupt = req.method === 'GET' && strikes(options.corrupt, injected.corrupted, line);
    const upstream = request({
      host: targetHost, port: Number(targetPort), method: req.method, path, headers: req.headers,
    }, (answer) => {
      record.status = answer.statusCode;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      let body: NodeJS.ReadableStream = answer;
      if (corrupt && answer.statusCode === 200) {
        injected.corrupted++;
        record.fault = 'corrupt';
        let flipped = false;
        body = answer.pipe(new Transform({
          transform(chunk: Buffer, _enc, done) {
            if (!flipped && chunk.length > 0) {
              chunk = Buffer.from(chunk);
              chunk[chunk.length >> 1] ^= 0xff;
              flipped = true;
            }
            done(null, chunk);
          },
        }));
      }
      if (reset) {
        // Mid-body reset: pass on part of the answer, then cut the connection.
        let sent = 0;
        body.on('data', (chunk: Buffer) => {
          if (sent === 0) res.write(chunk.subarray(0, chunk.length >> 1));
          sent += chunk.length;
          req.socket.destroy();
          answer.destroy();
        });
        body.on('end', () => req.socket.destroy());
        return;
      }
      body.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) {
        res.writeHead(502);
        res.end();
      } else {
        req.socket.destroy();
      }
    });
    req.pipe(upstream);
  };

  const server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    requests,
    faultsInjected: injected,
    count: (method, pattern) => requests.filter((r) => r.method === method && pattern.test(r.path)).length,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
