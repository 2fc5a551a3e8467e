import { strict as assert } from 'node:assert';
import { parseTrailers } from '../../tasks/core/git/commitMessage';
import { git } from '../support/gitServer';
import { findLeaks, runTask, type TaskRun, type TaskRunOptions } from '../support/runTask';
import { tempDir } from '../support/tmp';
import { helm4 } from '../support/tools';
import { BUILD_ID, IMAGE_REPOSITORY, imagesIn, PROD_CONNECTION, pushBuiltImage, startChain, type Chain } from '../e2e/chain';
import { bundleOnce } from './updateImageTagHelpers';

/**
 * A classic release (artifact `_api-service` → stage "staging" → stage "prod") runs each task with
 * only what a release agent job has: `Release.*` and `System.*` variables, no `Build.*`, no
 * checkout (an empty working directory), and the job token through the SystemVssConnection endpoint.
 */
const ARTIFACT = '_api-service';
const BUILD_NUMBER = `20250612.${BUILD_ID}`;

function releaseVariables(environmentName: string): Record<string, string> {
  return {
    'System.HostType': 'release',
    'System.CollectionUri': 'https://dev.azure.com/fabrikam/',
    'System.TeamProject': 'Fabrikam',
    'Release.ReleaseId': '31',
    'Release.ReleaseName': 'Release-31',
    'Release.DefinitionName': 'api-service release',
    'Release.EnvironmentName': environmentName,
    'Release.RequestedFor': 'Release Manager',
    'Release.RequestedForEmail': 'releases@example.com',
    'Release.PrimaryArtifactSourceAlias': ARTIFACT,
    [`Release.Artifacts.${ARTIFACT}.BuildNumber`]: BUILD_NUMBER,
    [`Release.Artifacts.${ARTIFACT}.BuildId`]: BUILD_ID,
  };
}

describe('Classic release pipelines: every task with Release.* variables and the SystemVssConnection token', function () {
  this.timeout(300_000);
  let chain: Chain;
  const runs: TaskRun[] = [];

  before(async function () {
    this.timeout(600_000);
    const [, started] = await Promise.all([bundleOnce(), startChain()]);
    chain = started;
    await pushBuiltImage(chain);
  });
  after(async () => chain?.stop());

  afterEach(() => {
    for (const run of runs.splice(0)) assert.deepEqual(findLeaks(run, chain.secrets), []);
  });

  /** Runs a task in a release job: an empty working directory, no checkout, the token only as the endpoint. */
  async function releaseTask(task: string, environmentName: string, inputs: Record<string, string>, extra: Omit<TaskRunOptions, 'inputs' | 'variables'> = {}): Promise<TaskRun> {
    const work = tempDir('release-work-');
    const run = await runTask(task, {
      cwd: work,
      inputs,
      variables: { ...releaseVariables(environmentName), 'System.DefaultWorkingDirectory': work },
      endpoints: {
        SystemVssConnection: { url: 'https://dev.azure.com/fabrikam/', scheme: 'OAuth', parameters: { AccessToken: chain.git.token } },
        ...extra.endpoints,
      },
      timeoutMs: 240_000,
    });
    runs.push(run);
    assert.equal(run.result, 'Succeeded', `${task}: ${run.message}\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`);
    return run;
  }

  async function assertReleaseTrailers(bare: string): Promise<void> {
    const message = await git(['--git-dir', bare, 'log', '-1', '--format=%B', 'main']);
    const trailers = parseTrailers(message);
    assert.equal(trailers['Gitops-Release'], 'https://dev.azure.com/fabrikam/Fabrikam/_releaseProgress?releaseId=31', message);
    assert.equal(trailers['Gitops-Build'], undefined, `no build is named in a release:\n${message}`);
    assert.equal(await git(['--git-dir', bare, 'log', '-1', '--format=%an <%ae>', 'main']), 'Release Manager <releases@example.com>');
  }

  it('stage staging: UpdateImageTag clones the HLD by URL and sets the artifact build id as the tag', async () => {
    const run = await releaseTask('UpdateImageTag', 'staging', {
      // What the editor passes for `$(Release.Artifacts._api-service.BuildId)` once the agent expanded it.
      imageTag: BUILD_ID,
      imageRepository: `${chain.preprod.host}/${IMAGE_REPOSITORY}`,
      hldRepositoryUrl: chain.hldUrl, hldBranch: 'main', hldPath: '',
      environment: 'staging', subcomponent: 'api', pushMode: 'direct',
    });
    assert.equal(run.outputs.hldCommitId, await git(['--git-dir', chain.hldBare, 'rev-parse', 'main']));
    await assertReleaseTrailers(chain.hldBare);
  });

  it('stage staging: GenerateManifests clones the HLD and publishes staging', async () => {
    const run = await releaseTask('GenerateManifests', 'staging', {
      hldRepositoryUrl: chain.hldUrl, hldBranch: 'main', environments: 'staging',
      manifestRepositoryUrl: chain.manifestUrl, manifestBranch: 'main', pushMode: 'direct', helmPath: helm4,
    });
    assert.equal(run.outputs.manifestsChanged, 'true');
    assert.deepEqual((await imagesIn(chain.manifestBare, 'staging')).map((i) => i.image), [`${chain.preprod.host}/${IMAGE_REPOSITORY}:${BUILD_ID}`]);
    await assertReleaseTrailers(chain.manifestBare);
  });

  it('stage prod: PromoteContainer verifies staging, copies to production and updates the HLD', async () => {
    const run = await releaseTask('PromoteContainer', 'prod', {
      sourceImage: `${chain.preprod.host}/${IMAGE_REPOSITORY}:${BUILD_ID}`,
      targetRegistry: chain.prod.host, targetRegistryConnection: PROD_CONNECTION,
      verification: 'manifestRepo', verifyManifestRepositoryUrl: chain.manifestUrl, verifyManifestBranch: 'main', verifyEnvironmentPath: 'staging',
      hldRepositoryUrl: chain.hldUrl, hldBranch: 'main', environment: 'prod', subcomponent: 'api', pinDigest: 'digestKey', pushMode: 'direct',
    }, {
      endpoints: { [PROD_CONNECTION]: { url: `https://${chain.prod.host}`, parameters: { registry: chain.prod.host, username: chain.prod.username!, password: chain.prod.password! } } },
    });
    assert.equal(run.outputs.promotedDigest, chain.image.rootDigest);
    await assertReleaseTrailers(chain.hldBare);
  });

  it('stage prod: GenerateManifests publishes prod with the production image', async () => {
    await releaseTask('GenerateManifests', 'prod', {
      hldRepositoryUrl: chain.hldUrl, hldBranch: 'main', environments: 'prod',
      manifestRepositoryUrl: chain.manifestUrl, manifestBranch: 'main', pushMode: 'direct', helmPath: helm4,
    });
    assert.deepEqual((await imagesIn(chain.manifestBare, 'prod')).map((i) => i.image), [`${chain.prod.host}/${IMAGE_REPOSITORY}:${BUILD_ID}@${chain.image.rootDigest}`]);
    await assertReleaseTrailers(chain.manifestBare);
  });
});
