/**
 * The cluster client over TLS, as against a real API server: a private CA, a server certificate
 * for 127.0.0.1, and kubeconfig client certificates (mTLS) or tokens; the Flux double behind it.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKubeconfig, readClusterState } from '../../../tasks/core/cluster';
import { runProcess } from '../../../tasks/core/exec';
import { ArgoCdApiDouble, FluxApiDouble } from '../../support/clusterDoubles';
import { tempDir } from '../../support/tmp';

async function openssl(args: string[], cwd: string): Promise<void> {
  const made = await runProcess('openssl', args, { cwd });
  if (made.code !== 0) throw new Error(`openssl ${args[0]} failed: ${made.stderr}`);
}

/** CA, server certificate for IP 127.0.0.1, and a client certificate with CN ci-bot. */
async function pki(): Promise<Record<'ca' | 'serverKey' | 'serverCert' | 'clientKey' | 'clientCert' | 'otherCa', string>> {
  const dir = tempDir('bg-pki-');
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=test-cluster-ca'], dir);
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.crt', '-days', '2', '-subj', '/CN=other-ca'], dir);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const [name, cn] of [['server', '127.0.0.1'], ['client', 'ci-bot']]) {
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2',
      ...(name === 'server' ? ['-extfile', 'san.ext'] : [])], dir);
  }
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  return { ca: read('ca.crt'), serverKey: read('server.key'), serverCert: read('server.crt'), clientKey: read('client.key'), clientCert: read('client.crt'), otherCa: read('other.crt') };
}

describe('cluster API client over TLS (private CA, client certificates)', function () {
  this.timeout(60_000);
  let keys: Awaited<ReturnType<typeof pki>>;
  let flux: FluxApiDouble;
  const sha = 'c'.repeat(40);
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const kubeconfig = (cluster: string, user: string) => `apiVersion: v1
kind: Config
current-context: k
clusters: [{ name: c, cluster: { server: "${flux.url}", ${cluster} } }]
contexts: [{ name: k, context: { cluster: c, user: u } }]
users: [{ name: u, user: { ${user} } }]
`;
  const read = (text: string) => readClusterState({ kind: 'flux', namespace: 'flux-system', name: 'apps', access: parseKubeconfig(text, { field: '--kubeconfig' }), field: '--kubeconfig' });

  before(async () => {
    keys = await pki();
    flux = new FluxApiDouble('sa-token', { key: keys.serverKey, cert: keys.serverCert, ca: keys.ca, clientCommonName: 'ci-bot' });
    await flux.start();
    flux.put({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'apps', namespace: 'flux-system' },
      spec: { path: './staging', sourceRef: { kind: 'OCIRepository', name: 'x' } }, status: { lastAppliedRevision: `main@sha1:${sha}`, conditions: [{ type: 'Ready', status: 'False', reason: 'BuildFailed', message: 'kustomize build failed' }] } });
  });
  after(() => flux?.stop());

  it('authenticates with the kubeconfig\'s client certificate, trusting its CA; reads Ready=False without failing', async () => {
    const state = await read(kubeconfig(`certificate-authority-data: ${b64(keys.ca)}`, `client-certificate-data: ${b64(keys.clientCert)}, client-key-data: ${b64(keys.clientKey)}`));
    assert.equal(state.revision, sha);
    assert.equal(state.ready, false);
    assert.match(state.detail!, /BuildFailed: kustomize build failed/);
    assert.deepEqual(flux.calls.slice(-1).map((c) => [c.path, c.authorized]), [['/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps', true]],
      'an OCIRepository source is not fetched as a GitRepository');
  });

  it('authenticates with a token; refuses a server whose certificate another CA signed unless insecure-skip-tls-verify', async () => {
    assert.equal((await read(kubeconfig(`certificate-authority-data: ${b64(keys.ca)}`, 'token: sa-token'))).revision, sha);
    await assert.rejects(read(kubeconfig(`certificate-authority-data: ${b64(keys.otherCa)}`, 'token: sa-token')), /failed: .*(self.signed|unable to (get|verify)|certificate)/i);
    assert.equal((await read(kubeconfig('insecure-skip-tls-verify: true', 'token: sa-token'))).revision, sha);
    await assert.rejects(read(kubeconfig(`certificate-authority-data: ${b64(keys.ca)}`, 'token: wrong')), /HTTP 401/);
  });

  it('sends credentials only over https, or plain http to this machine', async () => {
    const access = { server: 'http://10.255.255.1:8080', token: 't' };
    await assert.rejects(readClusterState({ kind: 'flux', namespace: 'a', name: 'b', access, field: '--kubeconfig' }), /is not https/);
  });

  it('Argo CD: one GET of the Application (appNamespace for namespace/name), bearer token, health and revision read', async () => {
    const argo = new ArgoCdApiDouble('argo-token');
    await argo.start();
    try {
      argo.put({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'api', namespace: 'team-a' },
        spec: { project: 'default', source: { repoURL: 'https://example.com/m.git', path: 'staging', targetRevision: 'main' } },
        status: { sync: { status: 'OutOfSync', revision: sha }, health: { status: 'Progressing', message: 'rollout' } } });
      const source = (application: string, token = 'argo-token', appNamespace?: string) => ({ kind: 'argocd' as const, server: argo.url, token, application, appNamespace, field: 'argoCdConnection' });
      const state = await readClusterState(source('api', 'argo-token', 'team-a'));
      assert.deepEqual([state.revision, state.ready, state.healthy, state.detail, state.name], [sha, false, false, 'OutOfSync, Progressing: rollout', 'argocd:team-a/api']);
      assert.deepEqual(argo.calls.map((c) => `${c.method} ${c.path}${c.query}`), ['GET /api/v1/applications/api?appNamespace=team-a']);
      await assert.rejects(readClusterState(source('api')), /HTTP 403: permission denied/, 'an app that is not there looks like one the token may not read');
      await assert.rejects(readClusterState(source('api', 'wrong', 'team-a')), (e: Error & { field?: string }) => e.field === 'argoCdConnection' && /HTTP 401/.test(e.message));
      assert.throws(() => new ArgoCdApiDouble('t').put({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'x', namespace: 'argocd' }, status: { sync: { revisionz: 'x' } } }), /unknown field Application\.status\.sync\.revisionz/,
        'the double refuses fields outside the published Application shape');
    } finally {
      await argo.stop();
    }
  });
});
