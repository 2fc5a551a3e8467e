/**
 * Strict doubles of the two cluster APIs the `cluster` verification and `trace` read:
 * - the Kubernetes API serving Flux v2 `Kustomization` (kustomize.toolkit.fluxcd.io/v1) and
 *   `GitRepository` (source.toolkit.fluxcd.io/v1) objects,
 * - the Argo CD API serving `Application` objects (GET /api/v1/applications/{name}).
 * Only GET on those routes, only a Bearer token they were given; unknown routes, methods, query
 * parameters, and objects with fields outside the published CRD/API shapes are refused.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { LocalHttpDouble, send } from './localHttpDouble';

/** HTTPS like a real API server: its certificate, and client certificates signed by `ca` accepted as identity. */
export interface DoubleTls { key: string; cert: string; ca: string; clientCommonName: string }

export interface ClusterCall { method: string; path: string; query: string; authorized: boolean; status?: number }

/** Allowed keys per object path ('*' = any key, e.g. labels; '[]' = list items). From the published CRD schemas. */
type Shape = { [key: string]: Shape | true };
const metadata: Shape = { name: true, namespace: true, uid: true, generation: true, resourceVersion: true, creationTimestamp: true, labels: { '*': true }, annotations: { '*': true } };
const condition: Shape = { type: true, status: true, reason: true, message: true, lastTransitionTime: true, observedGeneration: true };
export const KUSTOMIZATION_SHAPE: Shape = {
  apiVersion: true, kind: true, metadata,
  spec: { interval: true, path: true, prune: true, targetNamespace: true, timeout: true, wait: true, suspend: true, force: true,
    sourceRef: { kind: true, name: true, namespace: true, apiVersion: true } },
  status: { lastAppliedRevision: true, lastAttemptedRevision: true, lastHandledReconcileAt: true, observedGeneration: true,
    conditions: { '[]': condition }, inventory: { entries: { '[]': { id: true, v: true } } } },
};
export const GIT_REPOSITORY_SHAPE: Shape = {
  apiVersion: true, kind: true, metadata,
  spec: { url: true, interval: true, timeout: true, secretRef: { name: true }, ref: { branch: true, tag: true, semver: true, name: true, commit: true } },
  status: { observedGeneration: true, conditions: { '[]': condition },
    artifact: { path: true, url: true, revision: true, digest: true, lastUpdateTime: true, size: true } },
};
export const APPLICATION_SHAPE: Shape = {
  apiVersion: true, kind: true, metadata,
  spec: { project: true, source: { repoURL: true, path: true, targetRevision: true }, destination: { server: true, namespace: true, name: true },
    syncPolicy: { automated: { prune: true, selfHeal: true } } },
  status: {
    sync: { status: true, revision: true, comparedTo: { source: { repoURL: true, path: true, targetRevision: true }, destination: { server: true, namespace: true } } },
    health: { status: true, message: true },
    operationState: { phase: true, message: true, startedAt: true, finishedAt: true },
    reconciledAt: true,
  },
};

/** Throws when `value` has a field the shape does not know. */
export function assertShape(value: unknown, shape: Shape, path = ''): void {
  if (Array.isArray(value)) {
    const item = shape['[]'];
    if (!item) throw new Error(`${path} is not a list in the published shape`);
    value.forEach((v, i) => (item === true ? undefined : assertShape(v, item, `${path}[${i}]`)));
    return;
  }
  if (!value || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    const sub = shape[key] ?? shape['*'];
    if (!sub) throw new Error(`unknown field ${path}.${key}`);
    if (sub !== true) assertShape(child, sub, `${path}.${key}`);
  }
}

abstract class StrictDouble extends LocalHttpDouble {
  readonly calls: ClusterCall[] = [];
  private https?: HttpsServer;
  constructor(protected readonly token: string, private readonly tls?: DoubleTls) {
    super();
  }
  override async start(): Promise<void> {
    if (!this.tls) return super.start();
    const { key, cert, ca } = this.tls;
    this.https = createHttpsServer({ key, cert, ca, requestCert: true, rejectUnauthorized: false }, (req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.https!.listen(0, '127.0.0.1', resolve));
  }
  override async stop(): Promise<void> {
    if (!this.https) return super.stop();
    const server = this.https;
    this.https = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  get url(): string {
    return this.https ? `https://127.0.0.1:${(this.https.address() as AddressInfo).port}` : this.origin;
  }
  /** A client certificate signed by the CA, with the expected common name. */
  private certificateAuthorized(req: IncomingMessage): boolean {
    const socket = req.socket as TLSSocket;
    if (!this.tls || !socket.authorized) return false;
    return socket.getPeerCertificate()?.subject?.CN === this.tls.clientCommonName;
  }
  protected abstract route(path: string, query: URLSearchParams): { status: number; body: unknown };
  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const authorized = req.headers.authorization === `Bearer ${this.token}` || this.certificateAuthorized(req);
    const call: ClusterCall = { method: req.method ?? '', path: url.pathname, query: url.search, authorized };
    this.calls.push(call);
    if (!authorized) return send(res, call, 401, { kind: 'Status', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    if (req.method !== 'GET') return send(res, call, 405, { message: `method ${req.method} refused by the double` });
    const { status, body } = this.route(url.pathname, url.searchParams);
    send(res, call, status, body);
  }
}

/** Kubernetes API with Flux objects. */
export class FluxApiDouble extends StrictDouble {
  constructor(token: string, tls?: DoubleTls) {
    super(token, tls);
  }
  private readonly objects = new Map<string, unknown>();
  /** Adds a Kustomization or GitRepository (checked against the CRD shape). */
  put(object: { apiVersion: string; kind: string; metadata: { name: string; namespace: string } } & Record<string, unknown>): void {
    const group = object.kind === 'Kustomization' ? 'kustomize.toolkit.fluxcd.io/v1' : object.kind === 'GitRepository' ? 'source.toolkit.fluxcd.io/v1' : undefined;
    if (!group || object.apiVersion !== group) throw new Error(`the double serves Kustomization and GitRepository v1, not ${object.apiVersion} ${object.kind}`);
    assertShape(object, object.kind === 'Kustomization' ? KUSTOMIZATION_SHAPE : GIT_REPOSITORY_SHAPE, object.kind);
    const plural = object.kind === 'Kustomization' ? 'kustomizations' : 'gitrepositories';
    this.objects.set(`/apis/${group}/namespaces/${object.metadata.namespace}/${plural}/${object.metadata.name}`, object);
  }
  protected route(path: string, query: URLSearchParams): { status: number; body: unknown } {
    if ([...query.keys()].length > 0) return { status: 400, body: { kind: 'Status', message: `unexpected query ${query}` } };
    if (!/^\/apis\/(kustomize|source)\.toolkit\.fluxcd\.io\/v1\/namespaces\/[a-z0-9-]+\/(kustomizations|gitrepositories)\/[a-z0-9.-]+$/.test(path)) {
      return { status: 404, body: { kind: 'Status', status: 'Failure', message: `the server could not find the requested resource (${path})`, reason: 'NotFound', code: 404 } };
    }
    const object = this.objects.get(path);
    return object ? { status: 200, body: object } : { status: 404, body: { kind: 'Status', status: 'Failure', message: `${path.split('/').slice(-2).join(' ')} not found`, reason: 'NotFound', code: 404 } };
  }
}

/** Argo CD API with Applications. */
export class ArgoCdApiDouble extends StrictDouble {
  private readonly apps = new Map<string, unknown>();
  put(app: { apiVersion: 'argoproj.io/v1alpha1'; kind: 'Application'; metadata: { name: string; namespace: string } } & Record<string, unknown>): void {
    assertShape(app, APPLICATION_SHAPE, 'Application');
    this.apps.set(`${app.metadata.namespace}/${app.metadata.name}`, app);
  }
  protected route(path: string, query: URLSearchParams): { status: number; body: unknown } {
    const unknown = [...query.keys()].filter((k) => k !== 'appNamespace');
    if (unknown.length) return { status: 400, body: { error: `unexpected query ${unknown.join(',')}`, code: 3 } };
    const match = /^\/api\/v1\/applications\/([a-z0-9.-]+)$/.exec(path);
    if (!match) return { status: 404, body: { error: 'Not Found', code: 5 } };
    const app = this.apps.get(`${query.get('appNamespace') ?? 'argocd'}/${match[1]}`);
    return app ? { status: 200, body: app } : { status: 403, body: { error: 'permission denied', code: 7, message: 'permission denied' } };
  }
}
