import { strict as assert } from 'node:assert';
import { AzureAdDouble, JWT_BEARER, OidcDouble } from '../support/azureAdDoubles';
import { buildOciLayout, seedImage, skopeoInspectRaw, type OciImage, type SkopeoCreds } from '../support/ociImage';
import { startRegistry, type TestRegistry } from '../support/registry';
import { findLeaks, runTask, type TaskRun } from '../support/runTask';
import { tempDir } from '../support/tmp';
import { bundleOnce } from './updateImageTagHelpers';

/**
 * Docker registry service connections of the Azure Container Registry kind, as Azure DevOps stores
 * them: `registrytype: ACR` in the endpoint data, the login server and service principal in the
 * authorization parameters, scheme ServicePrincipal (id and secret) or WorkloadIdentityFederation.
 */
describe('PromoteContainer with Docker registry connections of the ACR kind', function () {
  this.timeout(180_000);
  const sourceConnection = '21111111-2222-3333-4444-555555555555';
  const targetConnection = '31111111-2222-3333-4444-555555555555';
  const tenantId = '72f988bf-0000-4000-8000-000000000047';
  const sourceClient = '0a1b2c3d-0000-4000-8000-0000000000a1';
  const targetClient = '0a1b2c3d-0000-4000-8000-0000000000b2';
  const secrets = {
    sourceSecret: 'source-sp-secret~Qa81',
    targetSecret: 'target-sp-secret~Zk40',
    systemToken: 'job-access-token-77e0aa',
    oidcToken: 'eyJhbGciOiJSUzI1NiJ9.oidc-acr-kind.sig-93c1',
    aadAccessToken: 'eyJ0eXAiOiJKV1QifQ.aad-for-acr-kind.sig-1f0e',
  };
  let source: TestRegistry;
  let target: TestRegistry;
  let aad: AzureAdDouble;
  let oidc: OidcDouble;
  let image: OciImage;
  const sourceImage = () => `${source.host}/team/app:3.1.0`;

  before(async () => {
    aad = new AzureAdDouble({
      tenantId, clientId: targetClient, scope: 'https://containerregistry.azure.net/.default',
      secret: 'unused-secret', assertion: secrets.oidcToken, accessToken: secrets.aadAccessToken,
    });
    oidc = new OidcDouble({ connectionId: targetConnection, systemToken: secrets.systemToken, oidcToken: secrets.oidcToken });
    const [layout, a, b] = await Promise.all([
      buildOciLayout(tempDir('acr-kind-layout-'), { layersPerPlatform: 1, layerBytes: 64 * 1024, seed: 'acr-kind', tag: 'v1' }),
      // Both registries speak the token protocol ACR speaks; a service principal's id and secret are a user of it.
      startRegistry({ auth: 'token', users: { [sourceClient]: secrets.sourceSecret } }),
      startRegistry({ auth: 'token', tokenRealmPath: '/oauth2/token', users: { [targetClient]: secrets.targetSecret }, aadTokens: { [secrets.aadAccessToken]: 'wif-identity' } }),
      aad.start(),
      oidc.start(),
      bundleOnce(),
    ]);
    [image, source, target] = [layout, a, b];
    await seedImage(image.dir, sourceImage(), { creds: { username: sourceClient, password: secrets.sourceSecret } });
  });

  after(async () => {
    await Promise.all([source?.stop(), target?.stop(), aad?.stop(), oidc?.stop()]);
  });

  beforeEach(() => {
    aad.calls.length = 0;
    oidc.calls.length = 0;
    target.tokenRequests.length = 0;
  });

  type Endpoint = { scheme: string; parameters: Record<string, string> };
  const spn = (loginServer: string, clientId: string, secret: string): Endpoint => ({
    scheme: 'ServicePrincipal', parameters: { loginServer, serviceprincipalid: clientId, serviceprincipalkey: secret, tenantid: tenantId, scope: '/subscriptions/0000/resourceGroups/rg' },
  });
  const wif = (loginServer: string): Endpoint => ({ scheme: 'WorkloadIdentityFederation', parameters: { loginServer, serviceprincipalid: targetClient, tenantid: tenantId } });

  function promote(targetRepository: string, endpoints: { source: Endpoint; target: Endpoint }): Promise<TaskRun> {
    const data = (id: string) => ({ [`ENDPOINT_DATA_${id}_REGISTRYTYPE`]: 'ACR', [`ENDPOINT_DATA_${id}_ACTIVEDIRECTORYAUTHORITY`]: aad.authority });
    return runTask('PromoteContainer', {
      inputs: {
        sourceImage: sourceImage(), sourceRegistryConnection: sourceConnection,
        targetRegistry: target.host, targetRepository, targetRegistryConnection: targetConnection, verification: 'none',
      },
      variables: { 'System.OidcRequestUri': oidc.requestUri, 'System.CollectionUri': 'https://dev.azure.com/fabrikam/', 'System.TeamProject': 'Shop' },
      secrets: { 'System.AccessToken': secrets.systemToken },
      endpoints: {
        [sourceConnection]: { url: 'https://source.azurecr.io', ...endpoints.source },
        [targetConnection]: { url: 'https://target.azurecr.io', ...endpoints.target },
      },
      env: { ...data(sourceConnection), ...data(targetConnection) },
      timeoutMs: 120_000,
    });
  }

  const targetCreds = (): SkopeoCreds => ({ username: targetClient, password: secrets.targetSecret });
  const noLeaks = (run: TaskRun) => assert.deepEqual(findLeaks(run, Object.values(secrets)), []);
  const failed = (run: TaskRun, message: RegExp) => {
    assert.equal(run.result, 'Failed', run.stdout);
    assert.match(run.message ?? '', message);
  };

  it('service principal id and secret: pulls from one ACR and pushes to the other', async () => {
    const run = await promote('spn/app', { source: spn(source.host, sourceClient, secrets.sourceSecret), target: spn(target.host, targetClient, secrets.targetSecret) });
    assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout}`);
    assert.equal(run.outputs.promotedImage, `${target.host}/spn/app@${image.rootDigest}`);
    assert.equal(await skopeoInspectRaw(`${target.host}/spn/app:3.1.0`, targetCreds()), await skopeoInspectRaw(sourceImage(), { username: sourceClient, password: secrets.sourceSecret }));
    assert.ok(target.tokenRequests.some((r) => r.account === targetClient && r.scopes.some((s) => s.includes('spn/app:pull,push'))), 'the target token was issued to the service principal');
    assert.deepEqual([...aad.calls, ...oidc.calls], [], 'a secret needs no Azure AD round trip');
    for (const value of [secrets.sourceSecret, secrets.targetSecret]) assert.ok(run.secretsRegistered.includes(value), 'secrets are masked');
    noLeaks(run);
  });

  it('workload identity federation: the job\'s OIDC token becomes an Azure AD token that the ACR exchanges', async () => {
    const run = await promote('wif/app', { source: spn(source.host, sourceClient, secrets.sourceSecret), target: wif(target.host) });
    assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout}`);
    assert.equal(await skopeoInspectRaw(`${target.host}/wif/app:3.1.0`, targetCreds()), await skopeoInspectRaw(sourceImage(), { username: sourceClient, password: secrets.sourceSecret }));
    assert.deepEqual(oidc.calls.map((c) => [c.query.serviceConnectionId, c.status]), [[targetConnection, 200]]);
    assert.deepEqual(aad.calls.map((c) => [c.form.client_id, c.form.client_assertion_type, c.form.scope, c.status]),
      [[targetClient, JWT_BEARER, 'https://containerregistry.azure.net/.default', 200]]);
    assert.ok(target.tokenRequests.some((r) => r.path === '/oauth2/exchange' && r.account === 'wif-identity'), 'ACR exchanged the Azure AD token');
    for (const value of [secrets.oidcToken, secrets.aadAccessToken]) assert.ok(run.secretsRegistered.includes(value));
    noLeaks(run);
  });

  it('a connection whose login server is another registry is refused before its secret is sent anywhere', async () => {
    const run = await promote('elsewhere/app', { source: spn(source.host, sourceClient, secrets.sourceSecret), target: spn('prod.azurecr.io', targetClient, secrets.targetSecret) });
    failed(run, /^targetRegistryConnection: Docker registry connection "31111111-[-\d]+" \(Azure Container Registry\) logs in to prod\.azurecr\.io, but the registry here is 127\.0\.0\.1:\d+/);
    assert.deepEqual(target.tokenRequests, [], 'the target registry saw no credentials');
    noLeaks(run);
  });

  it('a wrong service principal secret fails naming the connection input, and writes nothing', async () => {
    const run = await promote('wrong/app', { source: spn(source.host, sourceClient, secrets.sourceSecret), target: spn(target.host, targetClient, 'not-the-secret') });
    failed(run, /targetRegistryConnection/);
    await assert.rejects(skopeoInspectRaw(`${target.host}/wrong/app:3.1.0`, targetCreds()), /manifest unknown|not found/i, 'nothing was pushed');
    noLeaks(run);
  });

  it('a connection without a login server says what to fix', async () => {
    const run = await promote('nols/app', { source: spn('', sourceClient, secrets.sourceSecret), target: spn(target.host, targetClient, secrets.targetSecret) });
    failed(run, /^sourceRegistryConnection: Docker registry connection "21111111-[-\d]+" \(Azure Container Registry\) has no login server/);
    noLeaks(run);
  });
});
