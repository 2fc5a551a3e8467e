import { strict as assert } from 'node:assert';
import { AzureAdDouble, OidcDouble } from '../support/azureAdDoubles';
import { createPrivateCa, startForwardProxy, type ForwardProxy, type PrivateCa } from '../support/forwardProxy';
import { buildOciLayout, seedImage, skopeoInspectRaw, type OciImage } from '../support/ociImage';
import { startRegistry, type TestRegistry } from '../support/registry';
import { findLeaks, runTask, type TaskRun, type TaskRunOptions } from '../support/runTask';
import { tempDir } from '../support/tmp';
import { bundleOnce } from './updateImageTagHelpers';

/**
 * PromoteContainer on an agent behind a forward proxy with basic auth (real tinyproxy) that trusts a
 * private CA: every registry request (manifests, blobs, tokens) and the Azure AD token calls go
 * through the proxy, the bypass list sends a registry direct, and a TLS registry signed by the
 * private CA is trusted only through Agent.CAInfo. Registries listen on 127.0.0.2 so that no client
 * skips the proxy because the host is "localhost".
 */
describe('PromoteContainer behind a forward proxy, trusting a private CA', function () {
  this.timeout(300_000);
  let proxy: ForwardProxy;
  let ca: PrivateCa;
  let source: TestRegistry;
  let target: TestRegistry;
  let secure: TestRegistry;
  let acr: TestRegistry;
  let image: OciImage;
  let aad: AzureAdDouble;
  let oidc: OidcDouble;
  const connection = '41111111-2222-3333-4444-555555555555';
  const tenantId = '72f988bf-0000-4000-8000-000000000047';
  const clientId = '0a1b2c3d-0000-4000-8000-0000000000c3';
  const secrets = {
    targetPassword: 'proxied-registry-pass-3f',
    systemToken: 'job-access-token-proxied-91',
    oidcToken: 'eyJhbGciOiJSUzI1NiJ9.oidc-proxied.sig-4d2e',
    aadAccessToken: 'eyJ0eXAiOiJKV1QifQ.aad-proxied.sig-88a0',
  };
  const sourceImage = () => `${source.host}/team/app:2.0.0`;

  before(async () => {
    ca = await createPrivateCa();
    const certificate = await ca.serverCertificate('127.0.0.2');
    aad = new AzureAdDouble({
      tenantId, clientId, scope: 'https://containerregistry.azure.net/.default',
      secret: 'unused-secret', assertion: secrets.oidcToken, accessToken: secrets.aadAccessToken,
    });
    oidc = new OidcDouble({ connectionId: connection, systemToken: secrets.systemToken, oidcToken: secrets.oidcToken });
    [proxy, image, source, target, secure, acr] = await Promise.all([
      startForwardProxy(),
      buildOciLayout(tempDir('proxy-layout-'), { layersPerPlatform: 2, layerBytes: 256 * 1024, seed: 'promote-proxy', tag: 'v1' }),
      startRegistry({ host: '127.0.0.2' }),
      startRegistry({ host: '127.0.0.2', auth: 'htpasswd', users: { pusher: secrets.targetPassword } }),
      startRegistry({ host: '127.0.0.2', tls: certificate }),
      startRegistry({ host: '127.0.0.2', auth: 'token', tokenRealmPath: '/oauth2/token', users: { nobody: 'unused-password-1' }, aadTokens: { [secrets.aadAccessToken]: 'wif-identity' } }),
      bundleOnce(),
      aad.start(),
      oidc.start(),
    ]);
    await seedImage(image.dir, sourceImage());
  });
  after(async () => {
    await Promise.all([proxy?.stop(), source?.stop(), target?.stop(), secure?.stop(), acr?.stop(), aad?.stop(), oidc?.stop()]);
  });

  const agentProxy = (extra: Record<string, string> = {}) => ({
    'Agent.ProxyUrl': proxy.url, 'Agent.ProxyUsername': proxy.username, 'Agent.ProxyBypassList': '[]', ...extra,
  });
  const targetEndpoint = () => ({ prodRegistry: { url: `https://${target.host}`, parameters: { registry: target.host, username: 'pusher', password: secrets.targetPassword } } });
  function promote(inputs: Record<string, string>, variables: Record<string, string>, endpoints: TaskRunOptions['endpoints'] = {}, env: Record<string, string> = {}): Promise<TaskRun> {
    return runTask('PromoteContainer', {
      inputs: { sourceImage: sourceImage(), verification: 'none', ...inputs },
      variables: { 'System.CollectionUri': 'https://dev.azure.com/fabrikam/', 'System.TeamProject': 'Shop', ...variables },
      secrets: { 'System.AccessToken': secrets.systemToken, 'Agent.ProxyPassword': proxy.password },
      endpoints,
      env,
      timeoutMs: 180_000,
    });
  }
  /** task-lib prints `##vso[task.debug]Agent.ProxyPassword=<value>` itself while loading (masked by the agent); every other line must be free of it. */
  const noLeaks = (run: TaskRun) => {
    const filtered = { ...run, stdout: run.stdout.split('\n').filter((l) => !l.startsWith('##vso[task.debug]Agent.ProxyPassword=')).join('\n') };
    assert.deepEqual(findLeaks(filtered, [proxy.password, ...Object.values(secrets)]), []);
  };
  const succeeded = (run: TaskRun) => assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout.slice(-3000)}`);
  const carriedSince = (before: number) => proxy.targets().slice(before);

  it('copies between two registries through the proxy: every registry host in its log, the password masked and never printed', async () => {
    const before = proxy.targets().length;
    const run = await promote({ targetRegistry: target.host, targetRepository: 'proxied/app', targetRegistryConnection: 'prodRegistry' }, agentProxy(), targetEndpoint());
    succeeded(run);
    assert.equal(run.outputs.promotedDigest, image.rootDigest);
    const carried = carriedSince(before);
    assert.ok(carried.includes(source.host), `the source registry was reached through the proxy: ${carried.join(', ')}`);
    assert.ok(carried.includes(target.host), `the target registry was reached through the proxy: ${carried.join(', ')}`);
    assert.equal(await skopeoInspectRaw(`${target.host}/proxied/app:2.0.0`, { username: 'pusher', password: secrets.targetPassword }), await skopeoInspectRaw(sourceImage()));
    assert.ok(run.secretsRegistered.includes(proxy.password), 'the proxy password is masked by the agent');
    noLeaks(run);
  });

  it('a registry on the bypass list is reached directly', async () => {
    const before = proxy.targets().length;
    const run = await promote({ targetRegistry: target.host, targetRepository: 'bypassed/app', targetRegistryConnection: 'prodRegistry' },
      agentProxy({ 'Agent.ProxyBypassList': JSON.stringify(['127\\.0\\.0\\.2']) }), targetEndpoint());
    succeeded(run);
    assert.deepEqual(carriedSince(before), [], 'nothing went through the proxy');
    assert.equal(await skopeoInspectRaw(`${target.host}/bypassed/app:2.0.0`, { username: 'pusher', password: secrets.targetPassword }), await skopeoInspectRaw(sourceImage()));
    noLeaks(run);
  });

  it('a TLS registry signed by a private CA is refused without Agent.CAInfo (naming it) and trusted with it, through the proxy', async () => {
    const refused = await promote({ targetRegistry: secure.host, targetRepository: 'tls/app' }, agentProxy());
    assert.equal(refused.result, 'Failed');
    assert.match(refused.message ?? '', new RegExp(secure.host.replace(/\./g, '\\.')));
    assert.match(refused.message ?? '', /certificate/i);
    await assert.rejects(skopeoInspectRaw(`${secure.host}/tls/app:2.0.0`), /manifest unknown|not found/i, 'nothing was pushed');

    const before = proxy.targets().length;
    const trusted = await promote({ targetRegistry: secure.host, targetRepository: 'tls/app' }, agentProxy({ 'Agent.CAInfo': ca.caFile }));
    succeeded(trusted);
    assert.ok(carriedSince(before).includes(secure.host), 'tunnelled through the proxy');
    assert.equal(await skopeoInspectRaw(`${secure.host}/tls/app:2.0.0`), await skopeoInspectRaw(sourceImage()));
    noLeaks(refused);
    noLeaks(trusted);
  });

  it('a TLS registry on the bypass list is trusted through Agent.CAInfo on the direct path too', async () => {
    const before = proxy.targets().length;
    const run = await promote({ targetRegistry: secure.host, targetRepository: 'tls-direct/app' },
      agentProxy({ 'Agent.CAInfo': ca.caFile, 'Agent.ProxyBypassList': JSON.stringify(['127\\.0\\.0\\.2']) }));
    succeeded(run);
    assert.deepEqual(carriedSince(before), [], 'nothing went through the proxy');
    assert.equal(await skopeoInspectRaw(`${secure.host}/tls-direct/app:2.0.0`), await skopeoInspectRaw(sourceImage()));
    noLeaks(run);
  });

  it('the Azure AD and OIDC token calls of an ACR connection (workload identity federation) go through the proxy too', async () => {
    aad.calls.length = 0;
    const before = proxy.targets().length;
    const run = await promote({ targetRegistry: acr.host, targetRepository: 'wif/app', targetRegistryConnection: connection },
      { ...agentProxy(), 'System.OidcRequestUri': oidc.requestUri },
      { [connection]: { url: 'https://target.azurecr.io', scheme: 'WorkloadIdentityFederation', parameters: { loginServer: acr.host, serviceprincipalid: clientId, tenantid: tenantId } } },
      { [`ENDPOINT_DATA_${connection}_REGISTRYTYPE`]: 'ACR', [`ENDPOINT_DATA_${connection}_ACTIVEDIRECTORYAUTHORITY`]: aad.authority });
    succeeded(run);
    assert.equal(aad.calls.length, 1, 'one Azure AD token');
    const carried = carriedSince(before);
    for (const host of [new URL(aad.authority).host, new URL(oidc.requestUri).host, acr.host]) {
      assert.ok(carried.includes(host), `${host} was reached through the proxy: ${carried.join(', ')}`);
    }
    noLeaks(run);
  });
});
