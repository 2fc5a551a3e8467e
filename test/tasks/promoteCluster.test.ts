/**
 * PromoteContainer with verification `cluster`, run as the agent runs the bundled task: the
 * pre-production cluster is a strict Flux (Kubernetes API) or Argo CD double; the manifests,
 * HLD and registries are real. Promotes only when the applied commit references the image.
 */
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArgoCdApiDouble, FluxApiDouble } from '../support/clusterDoubles';
import { git } from '../support/gitServer';
import { findLeaks, runTask } from '../support/runTask';
import { runProcess } from '../../tasks/core/exec';
import { repoRoot } from '../support/tools';
import { tempDir } from '../support/tmp';
import { bundleOnce } from './updateImageTagHelpers';
import { BUILD_ID, IMAGE_REPOSITORY, PROD_CONNECTION, checkoutHld, cleanupCheckout, generateManifests, pipelineVariables, pushBuiltImage, startChain, updateImageTag, type Chain } from '../e2e/chain';

describe('PromoteContainer verification=cluster (bundled task, Flux and Argo CD doubles)', function () {
  this.timeout(300_000);
  let chain: Chain;
  let flux: FluxApiDouble;
  let argo: ArgoCdApiDouble;
  let withoutImage: string;
  let withImage: string;
  const kubeToken = 'kube-sa-token-93be1';
  const argoToken = 'argo-api-token-c0ffee';

  const tip = (bare: string) => git(['--git-dir', bare, 'rev-parse', 'refs/heads/main']);
  const setFlux = (revision: string) => flux.put({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'apps', namespace: 'flux-system' },
    spec: { interval: '1m', path: './staging', prune: true, sourceRef: { kind: 'GitRepository', name: 'manifests' } },
    status: { lastAppliedRevision: `main@sha1:${revision}`, conditions: [{ type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded' }] } })
    ?? flux.put({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'manifests', namespace: 'flux-system' },
      spec: { url: chain.manifestUrl, interval: '1m', ref: { branch: 'main' } }, status: { artifact: { revision: `main@sha1:${revision}` } } });
  const setArgo = (revision: string, health: string) => argo.put({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'staging', namespace: 'argocd' },
    spec: { project: 'default', source: { repoURL: chain.manifestUrl, path: 'staging', targetRevision: 'main' } },
    status: { sync: { status: 'Synced', revision }, health: { status: health } } });

  function promote(cluster: Record<string, string>, endpoints: Record<string, { url?: string; scheme?: string; parameters: Record<string, string> }>, env: Record<string, string> = {}) {
    return runTask('PromoteContainer', {
      inputs: {
        sourceImage: `${chain.preprod.host}/${IMAGE_REPOSITORY}:${BUILD_ID}`, targetRegistry: chain.prod.host, targetRepository: IMAGE_REPOSITORY,
        targetRegistryConnection: PROD_CONNECTION, verification: 'cluster', verifyManifestRepositoryUrl: chain.manifestUrl, verifyEnvironmentPath: 'staging',
        hldRepositoryUrl: chain.hldUrl, environment: 'prod', subcomponent: 'api', pinDigest: 'digestKey', pushMode: 'direct', ...cluster,
      },
      variables: pipelineVariables(chain),
      secrets: { 'System.AccessToken': chain.git.token },
      endpoints: {
        [PROD_CONNECTION]: { url: `https://${chain.prod.host}`, parameters: { registry: chain.prod.host, username: chain.prod.username!, password: chain.prod.password! } },
        ...endpoints,
      },
      env,
      timeoutMs: 240_000,
    });
  }
  const kubeconfigEndpoint = () => ({
    STAGINGK8S: { url: flux.url, scheme: 'Kubernetes', parameters: { kubeconfig: [
      'apiVersion: v1', 'kind: Config', 'current-context: pre', 'clusters:', '- name: pre', '  cluster:', `    server: ${flux.url}`,
      'contexts:', '- name: pre', '  context: {cluster: pre, user: ci}', 'users:', '- name: ci', '  user:', `    token: ${kubeToken}`, ''].join('\n') } },
  });
  const fluxInputs = { clusterAgent: 'flux', kubernetesConnection: 'STAGINGK8S', fluxKustomization: 'flux-system/apps' };

  before(async function () {
    this.timeout(600_000);
    const [, started] = await Promise.all([bundleOnce(), startChain()]);
    chain = started;
    flux = new FluxApiDouble(kubeToken);
    argo = new ArgoCdApiDouble(argoToken);
    await Promise.all([flux.start(), argo.start()]);
    await pushBuiltImage(chain);
    assert.equal((await generateManifests(chain, 'staging')).result, 'Succeeded');
    withoutImage = await tip(chain.manifestBare);
    const checkout = await checkoutHld(chain);
    assert.equal((await updateImageTag(chain, checkout, BUILD_ID)).result, 'Succeeded');
    await cleanupCheckout(chain, checkout);
    assert.equal((await generateManifests(chain, 'staging')).result, 'Succeeded');
    withImage = await tip(chain.manifestBare);
  });

  after(async () => {
    await Promise.all([chain?.stop(), flux?.stop(), argo?.stop()]);
  });

  it('Flux applied a commit without the image: fails naming the applied revision and leaves the HLD untouched', async () => {
    setFlux(withoutImage);
    const hldTip = await tip(chain.hldBare);
    const run = await promote(fluxInputs, kubeconfigEndpoint(), { ENDPOINT_DATA_STAGINGK8S_AUTHORIZATIONTYPE: 'Kubeconfig' });
    assert.equal(run.result, 'Failed', run.stdout.slice(-2000));
    assert.match(run.message ?? '', new RegExp(`pre-production does not run .*flux:flux-system/apps applied revision ${withoutImage.slice(0, 12)}`));
    assert.equal(await tip(chain.hldBare), hldTip, 'HLD untouched');
    assert.deepEqual(findLeaks(run, [kubeToken, chain.git.token]), []);
  });

  it('Flux applied the render with the image: promotes, and the calls are exactly the two documented GETs', async () => {
    setFlux(withImage);
    flux.calls.length = 0;
    const run = await promote(fluxInputs, kubeconfigEndpoint(), { ENDPOINT_DATA_STAGINGK8S_AUTHORIZATIONTYPE: 'Kubeconfig' });
    assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout.slice(-3000)}`);
    assert.equal(run.outputs.hldChanged, 'true');
    assert.deepEqual(flux.calls.map((c) => `${c.method} ${c.path}${c.query} ${c.authorized}`), [
      'GET /apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps true',
      'GET /apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/manifests true',
    ]);
    assert.deepEqual(findLeaks(run, [kubeToken, chain.git.token]), []);
  });

  it('Flux through a Service Account connection with a wrong token: fails naming kubernetesConnection', async () => {
    const run = await promote(fluxInputs, { STAGINGK8S: { url: flux.url, scheme: 'Token', parameters: { apitoken: Buffer.from('not-the-token').toString('base64') } } },
      { ENDPOINT_DATA_STAGINGK8S_AUTHORIZATIONTYPE: 'ServiceAccount' });
    assert.equal(run.result, 'Failed');
    assert.match(run.message ?? '', /kubernetesConnection.*HTTP 401|HTTP 401/);
  });

  it('Argo CD synced to the image but Degraded: refused; Healthy: verified (dry run)', async () => {
    const endpoints = { ARGO: { url: argo.url, parameters: { username: '', password: argoToken } } };
    const inputs = { clusterAgent: 'argocd', argoCdConnection: 'ARGO', argoCdApplication: 'staging' };
    setArgo(withImage, 'Degraded');
    const degraded = await promote(inputs, endpoints);
    assert.equal(degraded.result, 'Failed');
    assert.match(degraded.message ?? '', /argocd:staging is not healthy \(Synced, Degraded\)/);
    setArgo(withImage, 'Healthy');
    const healthy = await promote({ ...inputs, dryRun: 'true' }, endpoints);
    assert.equal(healthy.result, 'Succeeded', healthy.message);
    assert.ok(argo.calls.every((c) => c.path === '/api/v1/applications/staging' && c.method === 'GET' && c.authorized));
    assert.deepEqual(findLeaks(healthy, [argoToken]), []);
  });

  it('the CLI: promote --verify-cluster flux:... --kubeconfig verifies the same way (dry run)', async () => {
    const kubeconfig = join(tempDir('bg-kube-'), 'config');
    writeFileSync(kubeconfig, kubeconfigEndpoint().STAGINGK8S.parameters.kubeconfig);
    const promoteCli = (revision: string) => {
      setFlux(revision);
      return runProcess(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'promote', '--source', `${chain.preprod.host}/${IMAGE_REPOSITORY}:${BUILD_ID}`,
        '--target-registry', chain.preprod.host, '--target-repository', 'fabrikam/api-prod', '--verify-repo', chain.manifestUrl, '--verify-path', 'staging',
        '--verify-cluster', 'flux:flux-system/apps', '--kubeconfig', kubeconfig, '--dry-run'], { env: { PATH: process.env.PATH, GITOPS_GIT_TOKEN: chain.git.token } });
    };
    const refused = await promoteCli(withoutImage);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /pre-production does not run .*flux:flux-system\/apps applied revision/);
    const verified = await promoteCli(withImage);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stderr, new RegExp(`verified: .* at flux:flux-system/apps applied revision ${withImage.slice(0, 12)}`));
    assert.ok(![refused.stdout, refused.stderr, verified.stdout, verified.stderr].some((t) => t.includes(kubeToken)));
  });
});
