/**
 * The whole GitOps chain of `pipelines-templates/gitops.yml`, driven with the bundled tasks the way
 * the agent runs them: build → HLD update → manifest generation → promotion → manifest generation.
 * Shared by the end-to-end test (which asserts) and `scripts/demo-chain.ts` (which narrates).
 *
 * Every step passes the inputs the templates give the task; outputs travel between steps as the
 * `##vso[task.setvariable]` lines the steps print, parsed like the agent does.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import { load } from 'js-yaml';
import { git, startGitServer, testGitEnv, type GitServer } from '../support/gitServer';
import { buildOciLayout, seedImage, type OciImage } from '../support/ociImage';
import { startRegistry, type TestRegistry } from '../support/registry';
import { findLeaks, parseCommands, runTask, type TaskRun, type TaskRunOptions } from '../support/runTask';
import { tempDir } from '../support/tmp';
import { repoRoot } from '../support/tools';

export const BUILD_ID = '1207';
export const IMAGE_REPOSITORY = 'fabrikam/api';
export const SUBCOMPONENT = 'api';
export const PROD_CONNECTION = 'production-registry';
const taskTimeoutMs = 240_000;

export interface Chain {
  git: GitServer;
  preprod: TestRegistry;
  prod: TestRegistry;
  image: OciImage;
  hldUrl: string;
  hldBare: string;
  manifestUrl: string;
  manifestBare: string;
  /** `$(Pipeline.Workspace)` of the simulated agent. */
  pipelineWorkspace: string;
  /** Every task run so far, in order, for leak scans. */
  runs: { step: string; run: TaskRun }[];
  /** Working copies left on disk whose .git/config must hold no secret. */
  checkouts: string[];
  /** The git token and the production registry password. */
  secrets: string[];
  stop(): Promise<void>;
}

/** Every file under `dir`: path relative to `dir` → content. */
function filesUnder(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(dir, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return files;
}

/** Starts the git server (HLD + empty manifest repository) and the two registries. */
export async function startChain(): Promise<Chain> {
  const started: { stop(): Promise<void> }[] = [];
  const track = <T extends { stop(): Promise<void> }>(server: T): T => (started.push(server), server);
  const stopAll = async () => {
    await Promise.allSettled(started.map((s) => s.stop()));
  };
  try {
    const prodPassword = `prod-${randomBytes(12).toString('hex')}`;
    const [gitServer, preprod, prod, image] = await Promise.all([
      startGitServer().then(track),
      startRegistry().then(track),
      startRegistry({ auth: 'htpasswd', users: { 'release-pusher': prodPassword } }).then(track),
      buildOciLayout(tempDir('chain-image-'), { layersPerPlatform: 2, layerBytes: 128 * 1024, seed: `chain-${BUILD_ID}`, tag: BUILD_ID }),
    ]);
    const hldUrl = await gitServer.createRepo('fabrikam/_git/hld', { files: filesUnder(join(repoRoot, 'examples', 'demo', 'hld')) });
    const manifestUrl = await gitServer.createRepo('fabrikam/_git/manifests');
    const pipelineWorkspace = tempDir('chain-pipeline-');
    return {
      git: gitServer, preprod, prod, image, hldUrl, manifestUrl, pipelineWorkspace,
      hldBare: gitServer.repoPath('fabrikam/_git/hld'),
      manifestBare: gitServer.repoPath('fabrikam/_git/manifests'),
      runs: [], checkouts: [],
      secrets: [gitServer.token, prodPassword],
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Variables of a CI run of the service pipeline (build and promotion stages share them). */
export function pipelineVariables(chain: Chain): Record<string, string> {
  return {
    'System.HostType': 'build',
    'System.CollectionUri': 'https://dev.azure.com/fabrikam/',
    'System.TeamProject': 'Fabrikam',
    'Build.BuildId': BUILD_ID,
    'Build.BuildNumber': `20250612.${BUILD_ID}`,
    'Build.Reason': 'IndividualCI',
    'Build.SourceBranch': 'refs/heads/main',
    'Build.SourceVersion': 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    'Build.Repository.Name': 'api-service',
    'Build.RequestedFor': 'Ada Lovelace',
    'Build.RequestedForEmail': 'ada@example.com',
    'Pipeline.Workspace': chain.pipelineWorkspace,
  };
}

async function runStep(chain: Chain, step: string, task: string, inputs: Record<string, string>, extra: Omit<TaskRunOptions, 'inputs'> = {}): Promise<TaskRun> {
  const run = await runTask(task, {
    inputs,
    variables: pipelineVariables(chain),
    secrets: { 'System.AccessToken': chain.git.token },
    // helmVersion '' in the templates means: the helm on the agent's PATH.
    env: { PATH: `${join(repoRoot, '.tools', 'helm4')}:${process.env.PATH ?? '/usr/bin:/bin'}` },
    timeoutMs: taskTimeoutMs,
    ...extra,
  });
  chain.runs.push({ step, run });
  return run;
}

/** 1. The build pushes the image to pre-production as `<preprod>/fabrikam/api:<Build.BuildId>`. */
export async function pushBuiltImage(chain: Chain): Promise<string> {
  const reference = `${chain.preprod.host}/${IMAGE_REPOSITORY}:${BUILD_ID}`;
  await seedImage(chain.image.dir, reference);
  return reference;
}

/** The script step `image` of build-update-hld.yml, run with bash as written in the template. */
export async function publishImageOutputs(chain: Chain): Promise<{ repository: string; tag: string }> {
  const template = load(readFileSync(join(repoRoot, 'pipelines-templates', 'build-update-hld.yml'), 'utf8'));
  const step = findStep(template, 'image');
  if (!step || typeof step.bash !== 'string') throw new Error('build-update-hld.yml has no bash step named image');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', IMAGE_REPOSITORY: `${chain.preprod.host}/${IMAGE_REPOSITORY}`, IMAGE_TAG: BUILD_ID };
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', ['-e', '-c', step.bash as string], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`image step exited with ${code}`))));
  });
  const outputs = parseCommands(stdout).outputs;
  return { repository: outputs.repository, tag: outputs.tag };
}

function findStep(node: unknown, name: string): Record<string, unknown> | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = findStep(item, name);
      if (found) return found;
    }
  } else if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    if (record.name === name && 'bash' in record) return record;
    for (const value of Object.values(record)) {
      const found = findStep(value, name);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * `- checkout: hld` with `path: hld` and `persistCredentials: true`, as the agent does it: a
 * detached checkout whose .git/config sends the job's token. Returns $(Pipeline.Workspace)/hld.
 */
export async function checkoutHld(chain: Chain): Promise<string> {
  const dir = join(chain.pipelineWorkspace, 'hld');
  mkdirSync(dir, { recursive: true });
  const env = testGitEnv();
  await git(['init', '-q'], { cwd: dir, env });
  await git(['remote', 'add', 'origin', chain.hldUrl], { cwd: dir, env });
  await git(['config', `http.${chain.hldUrl}.extraheader`, `AUTHORIZATION: bearer ${chain.git.token}`], { cwd: dir, env });
  await git(['fetch', '-q', 'origin', '+refs/heads/main:refs/remotes/origin/main'], { cwd: dir, env });
  await git(['-c', 'advice.detachedHead=false', 'checkout', '-q', '--detach', 'origin/main'], { cwd: dir, env });
  chain.checkouts.push(dir);
  return dir;
}

/** The agent's post-job cleanup of a checkout with persistCredentials: the header goes. */
export async function cleanupCheckout(chain: Chain, dir: string): Promise<void> {
  await git(['config', '--unset-all', `http.${chain.hldUrl}.extraheader`], { cwd: dir, env: testGitEnv() });
}

/** 2. UpdateImageTag@1 as build-update-hld.yml runs it from gitops.yml (HLD checked out at hldPath). */
export function updateImageTag(chain: Chain, hldPath: string, imageTag: string): Promise<TaskRun> {
  return runStep(chain, 'UpdateImageTag staging', 'UpdateImageTag', {
    imageTag,
    imageRepository: `${chain.preprod.host}/${IMAGE_REPOSITORY}`,
    hldPath,
    componentPath: '',
    environment: 'staging',
    subcomponent: SUBCOMPONENT,
    tagKey: 'image.tag',
    repositoryKey: 'image.repository',
    pushMode: 'direct',
  });
}

/** 3./5. GenerateManifests@1 `publish` as manifest-generation.yml (from gitops.yml) and promote.yml run it. */
export function generateManifests(chain: Chain, environment: string, step = `GenerateManifests ${environment}`): Promise<TaskRun> {
  return runStep(chain, step, 'GenerateManifests', {
    hldRepositoryUrl: chain.hldUrl,
    hldBranch: 'main',
    environments: environment,
    manifestRepositoryUrl: chain.manifestUrl,
    manifestBranch: 'main',
    manifestPath: '',
    pushMode: 'direct',
    allowEmptyOutput: 'false',
    helmVersion: '',
  });
}

/** 4. PromoteContainer@1 as promote.yml runs it for the `prod` item of promotionEnvironments. */
export function promoteContainer(chain: Chain, builtImageTag: string): Promise<TaskRun> {
  return runStep(chain, 'PromoteContainer prod', 'PromoteContainer', {
    sourceImage: `${chain.preprod.host}/${IMAGE_REPOSITORY}:${builtImageTag}`,
    targetRegistry: chain.prod.host,
    targetRepository: IMAGE_REPOSITORY,
    targetTag: '',
    targetRegistryConnection: PROD_CONNECTION,
    verification: 'manifestRepo',
    verifyManifestRepositoryUrl: chain.manifestUrl,
    verifyEnvironmentPath: 'staging',
    hldRepositoryUrl: chain.hldUrl,
    hldBranch: 'main',
    componentPath: '',
    environment: 'prod',
    subcomponent: SUBCOMPONENT,
    pinDigest: 'digestKey',
    pushMode: 'direct',
  }, {
    endpoints: {
      [PROD_CONNECTION]: {
        url: `https://${chain.prod.host}`,
        parameters: { registry: chain.prod.host, username: chain.prod.username!, password: chain.prod.password! },
      },
    },
  });
}

/** The `image:` values of every manifest under `folder` of `branch` in a bare repository. */
export async function imagesIn(bare: string, folder: string, branch = 'main'): Promise<{ file: string; image: string }[]> {
  const names = (await git(['--git-dir', bare, 'ls-tree', '-r', '--name-only', branch, '--', `${folder}/`])).split('\n').filter(Boolean);
  const found: { file: string; image: string }[] = [];
  for (const file of names) {
    const text = await git(['--git-dir', bare, 'show', `${branch}:${file}`]);
    for (const match of text.matchAll(/^\s*(?:-\s+)?image:\s*["']?([^"'\s]+)["']?\s*$/gm)) found.push({ file, image: match[1] });
  }
  return found;
}

/** `git log --oneline --graph` of a bare repository's branch. */
export function historyOf(bare: string, branch = 'main'): Promise<string> {
  return git(['--git-dir', bare, 'log', '--graph', '--format=%h %s', branch]);
}

/** Merge commits on the branch (a linear history has none). */
export async function mergesOf(bare: string, branch = 'main'): Promise<string[]> {
  return (await git(['--git-dir', bare, 'rev-list', '--merges', branch])).split('\n').filter(Boolean);
}

/** Secrets found in any run's output or attachments, or in the .git/config of a checkout left behind. */
export function chainLeaks(chain: Chain): string[] {
  const configs = Object.fromEntries(chain.checkouts.map((dir) => [`${dir}/.git/config`, readFileSync(join(dir, '.git', 'config'), 'utf8')]));
  const leaks = chain.runs.flatMap(({ step, run }) => findLeaks(run, chain.secrets).map((leak) => `${step}: ${leak}`));
  const noRun = { stdout: '', stderr: '', attachments: [] } as unknown as TaskRun;
  return [...leaks, ...findLeaks(noRun, chain.secrets, configs)];
}
