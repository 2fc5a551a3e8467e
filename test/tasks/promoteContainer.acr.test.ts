import { strict as assert } from 'node:assert';
import { runProcess } from '../../tasks/core/exec';
import { acrTokenScope } from '../../tasks/core/registry/azureAd';
import { AzureAdDouble, JWT_BEARER, OidcDouble } from '../support/azureAdDoubles';
import { buildOciLayout, seedImage, skopeoInspectRaw, type OciImage, type SkopeoCreds } from '../support/ociImage';
import { startRegistry, type TestRegistry } from '../support/registry';
import { findLeaks, runTask, type TaskRun, type TaskRunOptions } from '../support/runTask';
import { tempDir } from '../support/tmp';
import { bundleOnce } from './updateImageTagHelpers';

/** Whether a tag exists, asked through skopeo (the independent judge). */
async function tagExists(ref: string, creds: SkopeoCreds): Promise<boolean> {
  const result = await runProcess('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', `${creds.username}:${creds.password}`, `docker://${ref}`], { timeoutMs: 60_000 });
  if (result.code === 0) return true;
  if (/manifest unknown|not found/i.test(result.stderr)) return false;
  throw new Error(`skopeo inspect ${ref}: ${result.stderr}`);
}

describe('PromoteContainer to ACR through an Azure Resource Manager connection (Azure AD token exchange)', function () {
  this.timeout(180_000);
  // Connection ids are GUIDs; digits only so the agent's environment variable names keep their case.
  const connectionId = '11111111-2222-3333-4444-555555555555';
  const tenantId = '72f988bf-0000-4000-8000-000000000047';
  const clientId = '0a1b2c3d-0000-4000-8000-00000000c11e';
  const secrets = {
    systemToken: 'job-access-token-6c1f2e',
    oidcToken: 'eyJhbGciOiJSUzI1NiJ9.oidc-for-connection.sig-4d2a',
    clientSecret: 'sp-client-secret~9Qx7',
    aadAccessToken: 'eyJ0eXAiOiJKV1QifQ.aad-access-token.sig-71b3',
  };
  const scope = 'https://containerregistry.azure.net/.default';
  let source: TestRegistry;
  let acr: TestRegistry;
  let aad: AzureAdDouble;
  let oidc: OidcDouble;
  let image: OciImage;
  let acrCreds: SkopeoCreds;
  const sourceImage = () => `${source.host}/team/app:2.0.0`;

  before(async () => {
    aad = new AzureAdDouble({ tenantId, clientId, scope, secret: secrets.clientSecret, assertion: secrets.oidcToken, accessToken: secrets.aadAccessToken });
    oidc = new OidcDouble({ connectionId, systemToken: secrets.systemToken, oidcToken: secrets.oidcToken });
    const [layout, a, b] = await Promise.all([
      buildOciLayout(tempDir('acr-layout-'), { layersPerPlatform: 1, layerBytes: 128 * 1024, seed: 'promote-acr', tag: 'v1' }),
      startRegistry(),
      startRegistry({ auth: 'token', tokenRealmPath: '/oauth2/token', aadTokens: { [secrets.aadAccessToken]: 'acr-identity' }, users: { reader: 'acr-reader-pass-3' } }),
      aad.start(),
      oidc.start(),
      bundleOnce(),
    ]);
    [image, source, acr] = [layout, a, b];
    acrCreds = { username: acr.username!, password: acr.password! };
    await seedImage(image.dir, sourceImage());
  });

  after(async () => {
    await Promise.all([source?.stop(), acr?.stop(), aad?.stop(), oidc?.stop()]);
  });

  beforeEach(() => {
    aad.calls.length = 0;
    oidc.calls.length = 0;
    acr.tokenRequests.length = 0;
  });

  type Endpoint = { scheme: string; parameters: Record<string, string>; data?: Record<string, string> };
  const wif: Endpoint = { scheme: 'WorkloadIdentityFederation', parameters: { serviceprincipalid: clientId, tenantid: tenantId } };
  const spn = (secret = secrets.clientSecret): Endpoint => ({
    scheme: 'ServicePrincipal', parameters: { serviceprincipalid: clientId, tenantid: tenantId, authenticationType: 'spnKey', serviceprincipalkey: secret },
  });

  function promote(targetRepository: string, endpoint: Endpoint, options: { authority?: Record<string, string>; variables?: TaskRunOptions['variables']; targetRegistry?: string } = {}): Promise<TaskRun> {
    const data = { ENVIRONMENT: 'AzureCloud', ...(options.authority ?? { ENVIRONMENTAUTHORITYURL: aad.authority }) };
    return runTask('PromoteContainer', {
      inputs: { sourceImage: sourceImage(), targetRegistry: options.targetRegistry ?? acr.host, targetRepository, targetAzureSubscription: connectionId, verification: 'none' },
      variables: { 'System.OidcRequestUri': oidc.requestUri, 'System.CollectionUri': 'https://dev.azure.com/fabrikam/', 'System.TeamProject': 'Shop', ...options.variables },
      secrets: { 'System.AccessToken': secrets.systemToken },
      endpoints: { [connectionId]: { url: 'https://management.azure.com/', scheme: endpoint.scheme, parameters: endpoint.parameters } },
      env: Object.fromEntries(Object.entries(data).map(([key, value]) => [`ENDPOINT_DATA_${connectionId}_${key}`, value])),
      timeoutMs: 120_000,
    });
  }

  const succeeded = (run: TaskRun) => assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout}\n${run.stderr}`);
  const noLeaks = (run: TaskRun, extra: string[] = []) => assert.deepEqual(findLeaks(run, [...Object.values(secrets), ...extra]), []);

  async function assertSameManifests(target: string) {
    const repoOf = (ref: string) => ref.replace(/:[^:/]+$/, '');
    assert.equal(await skopeoInspectRaw(target, acrCreds), await skopeoInspectRaw(sourceImage()), 'index');
    for (const manifest of image.manifests) {
      assert.equal(await skopeoInspectRaw(`${repoOf(target)}@${manifest.digest}`, acrCreds), await skopeoInspectRaw(`${repoOf(sourceImage())}@${manifest.digest}`),
        `${manifest.platform.architecture} manifest`);
    }
  }

  it('workload identity federation: OIDC token → Azure AD assertion → ACR exchange → image promoted', async () => {
    const run = await promote('wif/app', wif, { authority: { ACTIVEDIRECTORYAUTHORITY: aad.authority } });
    succeeded(run);
    assert.equal(run.outputs.promotedImage, `${acr.host}/wif/app@${image.rootDigest}`);
    await assertSameManifests(`${acr.host}/wif/app:2.0.0`);

    assert.deepEqual(oidc.calls.map((c) => [c.method, c.path, c.query, c.authorization, c.status]),
      [['POST', oidc.path, { 'api-version': '7.1', serviceConnectionId: connectionId }, `Bearer ${secrets.systemToken}`, 200]]);
    assert.deepEqual(aad.calls.map((c) => [c.method, c.path, c.form, c.status]), [['POST', `/${tenantId}/oauth2/v2.0/token`, {
      grant_type: 'client_credentials', client_id: clientId, scope, client_assertion_type: JWT_BEARER, client_assertion: secrets.oidcToken,
    }, 200]]);
    const exchanges = acr.tokenRequests.filter((r) => r.path === '/oauth2/exchange');
    assert.ok(exchanges.length > 0 && exchanges.every((r) => r.account === 'acr-identity'), 'ACR exchanged the Azure AD token');
    assert.ok(acr.tokenRequests.some((r) => r.path === '/oauth2/token' && r.account === 'acr-identity' && r.scopes.some((s) => s.includes('wif/app:pull,push'))));
    for (const token of [secrets.oidcToken, secrets.aadAccessToken, secrets.systemToken]) assert.ok(run.secretsRegistered.includes(token), 'every token is masked by the agent');
    noLeaks(run);
  });

  it('service principal secret: Azure AD client credentials → ACR exchange → image promoted', async () => {
    const run = await promote('spn/app', spn());
    succeeded(run);
    await assertSameManifests(`${acr.host}/spn/app:2.0.0`);
    assert.deepEqual(oidc.calls, [], 'no OIDC token for a secret');
    assert.deepEqual(aad.calls.map((c) => [c.path, c.form, c.status]), [[`/${tenantId}/oauth2/v2.0/token`, {
      grant_type: 'client_credentials', client_id: clientId, scope, client_secret: secrets.clientSecret,
    }, 200]]);
    assert.ok(acr.tokenRequests.some((r) => r.path === '/oauth2/exchange' && r.account === 'acr-identity'));
    for (const value of [secrets.clientSecret, secrets.aadAccessToken]) assert.ok(run.secretsRegistered.includes(value));
    noLeaks(run);
  });

  it('Azure AD refusing the secret fails naming the connection, and nothing reaches the registry', async () => {
    const wrong = 'sp-expired-secret~0000';
    const run = await promote('refused/app', spn(wrong));
    assert.equal(run.result, 'Failed');
    assert.match(run.message ?? '', /^targetAzureSubscription: Azure AD refused Azure Resource Manager connection "11111111-2222-3333-4444-555555555555" \(HTTP 401 invalid_client: AADSTS7000215/);
    assert.match(run.message ?? '', /secret/);
    assert.equal(aad.calls.length, 1, 'a refusal is not retried');
    assert.deepEqual(acr.tokenRequests, [], 'no exchange attempted');
    assert.equal(await tagExists(`${acr.host}/refused/app:2.0.0`, acrCreds), false);
    noLeaks(run, [wrong]);
  });

  it('a registry refusing the Azure AD token at /oauth2/exchange fails naming targetAzureSubscription, and writes nothing', async () => {
    // This identity has no role on the registry: it knows no Azure AD token.
    const strange = await startRegistry({ auth: 'token', tokenRealmPath: '/oauth2/token', aadTokens: {} });
    try {
      const run = await promote('denied/app', spn(), { targetRegistry: strange.host });
      assert.equal(run.result, 'Failed');
      assert.match(run.message ?? '', /^targetAzureSubscription: registry 127\.0\.0\.1:\d+ refused the Azure AD token at \/oauth2\/exchange \(HTTP 401\)/);
      assert.match(run.message ?? '', /AcrPush/);
      assert.equal(await tagExists(`${strange.host}/denied/app:2.0.0`, { username: strange.username!, password: strange.password! }), false);
      noLeaks(run);
    } finally {
      await strange.stop();
    }
  });

  it('a transient Azure AD outage (503) is retried', async () => {
    aad.unavailable = 1;
    const run = await promote('retried/app', spn());
    succeeded(run);
    assert.deepEqual(aad.calls.map((c) => c.status), [503, 200]);
    assert.equal(await tagExists(`${acr.host}/retried/app:2.0.0`, acrCreds), true);
    noLeaks(run);
  });

  it('a managed identity connection is refused with what to use instead', async () => {
    const run = await promote('msi/app', { scheme: 'ManagedServiceIdentity', parameters: { tenantid: tenantId, serviceprincipalid: clientId } });
    assert.equal(run.result, 'Failed');
    assert.match(run.message ?? '', /^targetAzureSubscription: Azure Resource Manager connection "11111111-[-\d]+" uses the authentication scheme ManagedServiceIdentity, which this task does not support/);
    assert.match(run.message ?? '', /workload identity federation .*Docker registry connection/);
    assert.deepEqual([...aad.calls, ...oidc.calls], []);
    noLeaks(run);
  });

  it('a certificate service principal is refused with what to use instead', async () => {
    const endpoint: Endpoint = { scheme: 'ServicePrincipal', parameters: { serviceprincipalid: clientId, tenantid: tenantId, authenticationType: 'spnCertificate', servicePrincipalCertificate: '-----BEGIN PRIVATE KEY-----cert-body-5e' } };
    const run = await promote('cert/app', endpoint);
    assert.equal(run.result, 'Failed');
    assert.match(run.message ?? '', /^targetAzureSubscription: .* uses a certificate, which this task does not support/);
    assert.deepEqual(aad.calls, []);
    noLeaks(run);
  });

  it('workload identity federation without System.OidcRequestUri says what is missing', async () => {
    const run = await promote('no-oidc/app', wif, { variables: { 'System.OidcRequestUri': undefined } });
    assert.equal(run.result, 'Failed');
    assert.match(run.message ?? '', /^targetAzureSubscription: .*System\.OidcRequestUri is not set/);
    assert.deepEqual(aad.calls, []);
    noLeaks(run);
  });

  it('a plain-HTTP Azure AD authority off this machine is refused before any secret is sent', async () => {
    const run = await promote('http/app', spn(), { authority: { ENVIRONMENTAUTHORITYURL: 'http://login.example.invalid/' } });
    assert.equal(run.result, 'Failed');
    assert.match(run.message ?? '', /^targetAzureSubscription: Azure AD authority http:\/\/login\.example\.invalid of .* is not https/);
    assert.deepEqual(aad.calls, []);
    noLeaks(run);
  });
});

describe('acrTokenScope: the Azure AD scope an ACR token is requested for', () => {
  it('asks for the ACR audience of the connection\'s cloud, which registries accept even with ARM-audience tokens disabled', () => {
    assert.equal(acrTokenScope('AzureCloud', 'https://management.azure.com/'), 'https://containerregistry.azure.net/.default');
    assert.equal(acrTokenScope('AzureChinaCloud', 'https://management.chinacloudapi.cn/'), 'https://containerregistry.azure.cn/.default');
    assert.equal(acrTokenScope('AzureUSGovernment', 'https://management.usgovcloudapi.net/'), 'https://containerregistry.azure.us/.default');
  });

  it('defaults to the public cloud when the connection names no environment', () => {
    assert.equal(acrTokenScope(undefined, undefined), 'https://containerregistry.azure.net/.default');
  });

  it('falls back to the ARM audience of the connection\'s management URL for another cloud', () => {
    assert.equal(acrTokenScope('AzureStack', 'https://management.local.azurestack.external/'), 'https://management.local.azurestack.external/.default');
  });
});
