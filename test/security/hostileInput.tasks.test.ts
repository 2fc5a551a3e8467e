/**
 * Hostile inputs against the three BUNDLED tasks, run the way the agent runs them. The attacker
 * either sets task inputs (a careless or compromised pipeline variable) or has write access to
 * the HLD repository (component.yaml, config files) but not to the pipeline. Every case must be
 * refused: task Failed, the message naming the input or file, nothing pushed, nothing written
 * outside the task's folders, no injected command run, no token in any output or git argv.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { git } from '../support/gitServer';
import { runTask, type TaskRun } from '../support/runTask';
import { tempDir } from '../support/tmp';
import { bundleOnce } from '../tasks/updateImageTagHelpers';
import { helm4 } from '../support/tools';
import { assertContained, evilHld, hldFiles, payload, snapshot, startFixture, stateBefore, URL_TOKEN, type Fixture } from './hostileInput.support';

type TaskName = 'GenerateManifests' | 'UpdateImageTag' | 'PromoteContainer';

interface HostileCase {
  what: string;
  task: TaskName;
  /** Inputs over the task's sound defaults (see baseInputs). */
  inputs: (f: Fixture) => Record<string, string>;
  /** What the refusal must name: the input, flag or file. */
  names: RegExp;
}

/** The attacker's HLD repositories: each commits one hostile component.yaml or config file. */
const evilRepos: Record<string, Record<string, string>> = {
  'evil-git-source': evilHld('  - name: lib\n    method: git\n    source: "--upload-pack=touch /tmp/never-run"\n'),
  'evil-git-version': evilHld('  - name: lib\n    method: git\n    source: ./elsewhere\n    version: "--orphan=x"\n'),
  'evil-git-branch': evilHld('  - name: lib\n    method: git\n    source: ./elsewhere\n    branch: "-b"\n'),
  'evil-helm-chart': evilHld('  - name: web\n    type: helm\n    method: helm\n    source: http://127.0.0.1:9/charts\n    path: "--post-renderer=/bin/sh"\n'),
  'evil-helm-version': evilHld('  - name: web\n    type: helm\n    method: helm\n    source: http://127.0.0.1:9/charts\n    path: web\n    version: "--repo=http://127.0.0.1:9/x"\n'),
  'evil-helm-source': evilHld('  - name: web\n    type: helm\n    method: helm\n    source: "--kubeconfig=/etc/passwd"\n    path: web\n'),
  'evil-constructor-name': evilHld('  - name: constructor\n    type: static\n    path: ./manifests\n'),
  'evil-proto-subcomponent': { ...hldFiles, 'config/prod.yaml': 'subcomponents:\n  __proto__:\n    config:\n      polluted: yes\n' },
  'evil-prototype-subcomponent': { ...hldFiles, 'config/prod.yaml': 'subcomponents:\n  api:\n    subcomponents:\n      prototype:\n        config: {}\n' },
  'evil-http-token': evilHld(`  - name: remote\n    type: static\n    method: http\n    source: https://${URL_TOKEN}@127.0.0.1:9/remote.yaml\n`),
};

const cases: HostileCase[] = [
  // Item 1: no user value reaches git as an option; one branch validator for every input.
  { what: 'hldBranch --upload-pack=<command> with a file:// HLD', task: 'GenerateManifests', names: /hldBranch/,
    inputs: (f) => ({ hldRepositoryUrl: f.fileHld.url, hldBranch: `--upload-pack=${payload(f, 'gm-file')}; git-upload-pack` }) },
  { what: 'hldBranch --upload-pack=<command> with a local-path HLD', task: 'GenerateManifests', names: /hldBranch/,
    inputs: (f) => ({ hldRepositoryUrl: f.fileHld.bare, hldBranch: `--upload-pack=${payload(f, 'gm-path')}; git-upload-pack` }) },
  { what: 'manifestBranch -x', task: 'GenerateManifests', names: /manifestBranch/, inputs: () => ({ manifestBranch: '-x' }) },
  { what: 'manifestBranch refs/heads/-x', task: 'GenerateManifests', names: /manifestBranch/, inputs: () => ({ manifestBranch: 'refs/heads/-x' }) },
  { what: 'manifestBranch with ".."', task: 'GenerateManifests', names: /manifestBranch/, inputs: () => ({ manifestBranch: 'main..evil' }) },
  { what: 'manifestBranch with "@{"', task: 'GenerateManifests', names: /manifestBranch/, inputs: () => ({ manifestBranch: 'main@{1}' }) },
  { what: 'manifestBranch ending in .lock', task: 'GenerateManifests', names: /manifestBranch/, inputs: () => ({ manifestBranch: 'release.lock' }) },
  { what: 'hldBranch as a refspec main:refs/heads/evil', task: 'GenerateManifests', names: /hldBranch/,
    inputs: (f) => ({ hldRepositoryUrl: f.urls.hld, hldBranch: 'main:refs/heads/evil' }) },
  { what: 'pullRequestTargetBranch --delete', task: 'GenerateManifests', names: /pullRequestTargetBranch/,
    inputs: () => ({ pushMode: 'pullRequest', pullRequestTargetBranch: '--delete' }) },
  { what: 'hldRepositoryUrl --upload-pack=<command>', task: 'GenerateManifests', names: /hldRepositoryUrl/,
    inputs: (f) => ({ hldRepositoryUrl: `--upload-pack=${payload(f, 'gm-url')}` }) },
  { what: 'manifestRepositoryUrl -oProxyCommand=<command>', task: 'GenerateManifests', names: /manifestRepositoryUrl/,
    inputs: (f) => ({ manifestRepositoryUrl: `-oProxyCommand=${payload(f, 'gm-ssh')}` }) },
  // Item 1, written by the HLD author: component fields reach git and helm.
  { what: 'a git component whose source is an option', task: 'GenerateManifests', names: /component\.yaml.*source/,
    inputs: (f) => ({ hldRepositoryUrl: f.urls['evil-git-source'] }) },
  { what: 'a git component whose version is an option', task: 'GenerateManifests', names: /component\.yaml.*version/,
    inputs: (f) => ({ hldRepositoryUrl: f.urls['evil-git-version'] }) },
  { what: 'a git component whose branch is an option', task: 'GenerateManifests', names: /component\.yaml.*branch/,
    inputs: (f) => ({ hldRepositoryUrl: f.urls['evil-git-branch'] }) },
  { what: 'a helm chart name that is a helm option', task: 'GenerateManifests', names: /component\.yaml.*path/,
    inputs: (f) => ({ hldRepositoryUrl: f.urls['evil-helm-chart'] }) },
  { what: 'a helm chart version that is a helm option', task: 'GenerateManifests', names: /component\.yaml.*version/,
    inputs: (f) => ({ hldRepositoryUrl: f.urls['evil-helm-version'] }) },
  { what: 'a helm repository URL that is a helm option', task: 'GenerateManifests', names: /component\.yaml.*source/,
    inputs: (f) => ({ hldRepositoryUrl: f.urls['evil-helm-source'] }) },
  // Item 3: .git is never a path segment; the output never overlaps a checkout.
  { what: 'manifestPath .git', task: 'GenerateManifests', names: /manifestPath/, inputs: () => ({ manifestPath: '.git' }) },
  { what: 'manifestPath .GIT/hooks (case-insensitive file systems)', task: 'GenerateManifests', names: /manifestPath/, inputs: () => ({ manifestPath: '.GIT/hooks' }) },
  { what: 'manifestPath envs/.git', task: 'GenerateManifests', names: /manifestPath/, inputs: () => ({ manifestPath: 'envs/.git' }) },
  { what: 'manifestPath .git. (Windows drops the dot)', task: 'GenerateManifests', names: /manifestPath/, inputs: () => ({ manifestPath: '.git.' }) },
  { what: 'outputPath equal to the HLD checkout', task: 'GenerateManifests', names: /outputPath/,
    inputs: (f) => ({ hldRepositoryUrl: '', hldPath: f.canary, outputPath: f.canary }) },
  { what: 'outputPath above the HLD checkout', task: 'GenerateManifests', names: /outputPath/,
    inputs: (f) => ({ hldRepositoryUrl: '', hldPath: join(f.canary, 'nested'), outputPath: f.canary }) },
  { what: 'outputPath inside a .git folder', task: 'GenerateManifests', names: /outputPath/,
    inputs: (f) => ({ hldRepositoryUrl: f.urls.hld, outputPath: join(f.canary, 'repo', '.git', 'objects') }) },
  // Item 5: no prototype pollution through HLD config or names.
  { what: 'a subcomponent named __proto__ in a config file', task: 'GenerateManifests', names: /config\/prod\.yaml/,
    inputs: (f) => ({ hldRepositoryUrl: f.urls['evil-proto-subcomponent'] }) },
  { what: 'a nested subcomponent named prototype in a config file', task: 'GenerateManifests', names: /config\/prod\.yaml/,
    inputs: (f) => ({ hldRepositoryUrl: f.urls['evil-prototype-subcomponent'] }) },
  { what: 'a component named constructor', task: 'GenerateManifests', names: /component\.yaml/,
    inputs: (f) => ({ hldRepositoryUrl: f.urls['evil-constructor-name'] }) },
  { what: 'an environment named __proto__', task: 'GenerateManifests', names: /environments/, inputs: () => ({ environments: '__proto__' }) },
  // Item 6: a token as a URL's user name never prints.
  { what: 'an HLD URL with a token as user name (missing repository)', task: 'GenerateManifests', names: /hldRepositoryUrl/,
    inputs: (f) => ({ hldRepositoryUrl: `${f.server.baseUrl.replace('://', `://${f.urlToken}@`)}/no-such-hld` }) },
  { what: 'a manifest URL with a token as user name (missing repository)', task: 'GenerateManifests', names: /manifestRepositoryUrl/,
    inputs: (f) => ({ manifestRepositoryUrl: `${f.server.baseUrl.replace('://', `://${f.urlToken}@`)}/no-such-manifests` }) },
  { what: 'a static http source with a token as user name', task: 'GenerateManifests', names: /component\.yaml|source/,
    inputs: (f) => ({ hldRepositoryUrl: f.urls['evil-http-token'] }) },

  // Item 10: GenerateManifests names its push and pull-request inputs like UpdateImageTag does.
  { what: 'a commitMessage with an unknown placeholder, before rendering', task: 'GenerateManifests', names: /commitMessage/,
    inputs: () => ({ commitMessage: 'Render {hldComit}' }) },
  { what: 'a commitMessage placeholder named after an Object method', task: 'GenerateManifests', names: /commitMessage/,
    inputs: () => ({ commitMessage: 'Render {constructor}' }) },
  { what: 'a gitUserEmail that is not an address', task: 'GenerateManifests', names: /gitUserEmail/, inputs: () => ({ gitUserEmail: 'nobody' }) },
  { what: 'a pullRequestApiUrl that is not http(s)', task: 'GenerateManifests', names: /pullRequestApiUrl/,
    inputs: () => ({ pushMode: 'pullRequest', pullRequestApiUrl: 'file:///etc' }) },
  { what: 'a work item that is not a number', task: 'GenerateManifests', names: /workItems/, inputs: () => ({ pushMode: 'pullRequest', workItems: '1;rm' }) },

  { what: 'hldBranch --upload-pack=<command> with a file:// HLD', task: 'UpdateImageTag', names: /hldBranch/,
    inputs: (f) => ({ hldRepositoryUrl: f.fileHld.url, hldBranch: `--upload-pack=${payload(f, 'uit-file')}` }) },
  { what: 'hldBranch refs/heads/-x', task: 'UpdateImageTag', names: /hldBranch/, inputs: () => ({ hldBranch: 'refs/heads/-x' }) },
  { what: 'hldBranch with a space', task: 'UpdateImageTag', names: /hldBranch/, inputs: () => ({ hldBranch: 'main evil' }) },
  { what: 'pullRequestTargetBranch -d', task: 'UpdateImageTag', names: /pullRequestTargetBranch/,
    inputs: () => ({ pushMode: 'pullRequest', pullRequestTargetBranch: '-d' }) },
  { what: 'hldRepositoryUrl that git would read as an option', task: 'UpdateImageTag', names: /hldRepositoryUrl/,
    inputs: (f) => ({ hldRepositoryUrl: `--upload-pack=${payload(f, 'uit-url')}@host:x` }) },
  { what: 'componentPath .git', task: 'UpdateImageTag', names: /componentPath/, inputs: () => ({ componentPath: '.git' }) },
  { what: 'componentPath .Git/hooks', task: 'UpdateImageTag', names: /componentPath/, inputs: () => ({ componentPath: '.Git/hooks' }) },
  { what: 'tagKey through __proto__', task: 'UpdateImageTag', names: /tagKey/, inputs: () => ({ tagKey: '__proto__.polluted' }) },
  { what: 'repositoryKey through constructor.prototype', task: 'UpdateImageTag', names: /repositoryKey/,
    inputs: () => ({ imageRepository: 'myacr.azurecr.io/api', repositoryKey: 'constructor.prototype.polluted' }) },
  { what: 'additionalValues through __proto__', task: 'UpdateImageTag', names: /additionalValues/, inputs: () => ({ additionalValues: '__proto__.polluted=yes' }) },
  { what: 'a quoted "__proto__" key segment', task: 'UpdateImageTag', names: /tagKey/, inputs: () => ({ tagKey: 'image."__proto__"' }) },
  { what: 'subcomponent __proto__', task: 'UpdateImageTag', names: /subcomponent/, inputs: () => ({ subcomponent: '__proto__' }) },
  { what: 'subcomponent api.constructor', task: 'UpdateImageTag', names: /subcomponent/, inputs: () => ({ subcomponent: 'api.constructor' }) },
  { what: 'environment prototype', task: 'UpdateImageTag', names: /environment/, inputs: () => ({ environment: 'prototype' }) },
  { what: 'an HLD URL with a token as user name (missing repository)', task: 'UpdateImageTag', names: /hldRepositoryUrl/,
    inputs: (f) => ({ hldRepositoryUrl: `${f.server.baseUrl.replace('://', `://${f.urlToken}@`)}/no-such-hld` }) },

  // Item 10: every refusal names the right input.
  { what: 'targetRegistry localhost:99999', task: 'PromoteContainer', names: /targetRegistry/, inputs: () => ({ targetRegistry: 'localhost:99999' }) },
  { what: 'targetRegistry localhost:0', task: 'PromoteContainer', names: /targetRegistry/, inputs: () => ({ targetRegistry: 'localhost:0' }) },
  { what: 'targetTag -x (not blamed on targetRegistry)', task: 'PromoteContainer', names: /^targetTag/, inputs: () => ({ targetTag: '-x' }) },
  { what: 'targetTag with a slash', task: 'PromoteContainer', names: /^targetTag/, inputs: () => ({ targetTag: 'a/b' }) },
  { what: 'targetRepository with upper case', task: 'PromoteContainer', names: /^targetRepository/, inputs: () => ({ targetRepository: 'team/API' }) },
  { what: 'targetRepository with a tag', task: 'PromoteContainer', names: /^targetRepository/, inputs: () => ({ targetRepository: 'team/api:1.0' }) },
  { what: 'sourceImage with port 70000', task: 'PromoteContainer', names: /^sourceImage/, inputs: () => ({ sourceImage: 'localhost:70000/api:1.0' }) },
  { what: 'verifyManifestBranch --upload-pack=<command>', task: 'PromoteContainer', names: /verifyManifestBranch/,
    inputs: (f) => ({ verification: 'manifestRepo', verifyManifestRepositoryUrl: f.fileHld.url, verifyManifestBranch: `--upload-pack=${payload(f, 'pc-verify')}` }) },
  { what: 'verifySyncTag -x', task: 'PromoteContainer', names: /verifySyncTag/,
    inputs: (f) => ({ verification: 'manifestRepo', verifyManifestRepositoryUrl: f.urls.manifests, verifySyncTag: '-x' }) },
  { what: 'verifySyncTag refs/tags/..', task: 'PromoteContainer', names: /verifySyncTag/,
    inputs: (f) => ({ verification: 'manifestRepo', verifyManifestRepositoryUrl: f.urls.manifests, verifySyncTag: 'refs/tags/..' }) },
  { what: 'verifyEnvironmentPath .git', task: 'PromoteContainer', names: /verifyEnvironmentPath/,
    inputs: (f) => ({ verification: 'manifestRepo', verifyManifestRepositoryUrl: f.urls.manifests, verifyEnvironmentPath: '.git' }) },
  { what: 'verifyManifestRepositoryUrl --upload-pack=<command>', task: 'PromoteContainer', names: /verifyManifestRepositoryUrl/,
    inputs: (f) => ({ verification: 'manifestRepo', verifyManifestRepositoryUrl: `--upload-pack=${payload(f, 'pc-url')}` }) },
  { what: 'tagKey __proto__', task: 'PromoteContainer', names: /tagKey/, inputs: () => ({ tagKey: '__proto__' }) },
  { what: 'digestKey through prototype', task: 'PromoteContainer', names: /digestKey/, inputs: () => ({ pinDigest: 'digestKey', digestKey: 'prototype.digest' }) },
  { what: 'hldBranch -x', task: 'PromoteContainer', names: /hldBranch/, inputs: () => ({ hldBranch: '-x' }) },
];

describe('hostile inputs against the bundled tasks', function () {
  this.timeout(600_000);
  let f: Fixture;

  before(async () => {
    await bundleOnce();
    f = await startFixture({
      hld: hldFiles,
      manifests: { 'prod/hld/api/settings.yaml': 'old\n' },
      positive: hldFiles,
      ...evilRepos,
    });
  });
  after(async () => f?.server.stop());

  function baseInputs(task: TaskName): Record<string, string> {
    switch (task) {
      case 'GenerateManifests':
        return { hldRepositoryUrl: f.urls.hld, manifestRepositoryUrl: f.urls.manifests, environments: 'prod', helmPath: helm4 };
      case 'UpdateImageTag':
        return { hldRepositoryUrl: f.urls.hld, environment: 'prod', subcomponent: 'api', imageTag: 'v2' };
      case 'PromoteContainer':
        return {
          sourceImage: '127.0.0.1:9/api:1.0', targetRegistry: '127.0.0.1:10', targetRegistryConnection: 'prodRegistry', verification: 'none',
          hldRepositoryUrl: f.urls.hld, environment: 'prod', subcomponent: 'api',
        };
    }
  }

  function run(task: TaskName, inputs: Record<string, string>): Promise<TaskRun> {
    return runTask(task, {
      inputs: { ...baseInputs(task), ...inputs },
      secrets: { 'System.AccessToken': f.server.token },
      endpoints: { prodRegistry: { url: 'https://127.0.0.1:10', parameters: { registry: '127.0.0.1:10', username: 'ci', password: f.registryPassword } } },
      env: { PATH: f.path },
    });
  }

  const texts = (result: TaskRun): Record<string, string> => ({
    stdout: result.stdout.split('\n').filter((l) => !l.startsWith('##vso[task.setsecret]')).join('\n'),
    stderr: result.stderr,
    ...Object.fromEntries(result.attachments.map((a) => [`attachment ${a.name}`, a.content])),
  });

  for (const c of cases) {
    it(`${c.task}: refuses ${c.what}`, async () => {
      const before = await stateBefore(f);
      const result = await run(c.task, c.inputs(f));
      assert.equal(result.result, 'Failed', `${result.message}\n${result.stdout.slice(-2000)}`);
      assert.notEqual(result.code, 0);
      await assertContained(f, { texts: texts(result), message: result.message ?? '' }, c.names, before);
    });
  }

  describe('what must keep working', () => {
    it('GenerateManifests takes hldBranch=refs/heads/main as the branch main', async () => {
      const before = await stateBefore(f);
      const result = await run('GenerateManifests', { hldBranch: 'refs/heads/main', manifestRepositoryUrl: '' });
      assert.equal(result.result, 'Succeeded', result.message);
      await assertContained(f, { texts: texts(result), message: result.message ?? '' }, /Rendered/, before);
    });

    it('UpdateImageTag takes an Azure-style URL with a user name and hldBranch=refs/heads/main, and never prints the user name', async () => {
      const url = f.urls.positive.replace('://', '://fabrikamorg@');
      const argvFrom = readFileSync(f.argvLog, 'utf8').length;
      const result = await run('UpdateImageTag', { hldRepositoryUrl: url, hldBranch: 'refs/heads/main', imageTag: 'v3' });
      assert.equal(result.result, 'Succeeded', result.message);
      // The git wrapper saw this run's git processes (so the suite's argv checks look at real calls), none with the token.
      const argv = readFileSync(f.argvLog, 'utf8').slice(argvFrom);
      assert.match(argv, /clone\0/);
      assert.match(argv, /push\0/);
      assert.ok(!argv.includes(f.server.token));
      assert.ok(!argv.includes('fabrikamorg'), 'the URL user name reached git although the job token authenticates');
      const shown = Object.values(texts(result)).join('\n');
      assert.ok(!shown.includes('fabrikamorg@'), 'the user name of the URL was printed');
      assert.match(await git(['--git-dir', f.server.repoPath('positive'), 'show', 'main:config/prod.yaml']), /tag: v3/);
      assert.ok(!(await git(['--git-dir', f.server.repoPath('positive'), 'log', '-1', '--format=%B', 'main'])).includes('fabrikamorg'));
    });

    it('a config holding a __proto__ key under config: is plain data, rendered as such', async () => {
      const checkout = tempDir('hostile-proto-hld-');
      const files = { ...hldFiles, 'component.yaml': 'name: hld\nsubcomponents:\n  - name: web\n    type: helm\n    method: local\n    path: ./chart\n',
        'chart/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
        'chart/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  seen: {{ index .Values "__proto__" "polluted" | quote }}\n',
        'config/prod.yaml': 'subcomponents:\n  web:\n    config:\n      __proto__:\n        polluted: "as data"\n' };
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(checkout, path)), { recursive: true });
        writeFileSync(join(checkout, path), content);
      }
      const output = join(tempDir('hostile-proto-out-'), 'out');
      const result = await run('GenerateManifests', { hldRepositoryUrl: '', hldPath: checkout, manifestRepositoryUrl: '', outputPath: output });
      assert.equal(result.result, 'Succeeded', result.message);
      assert.ok(readdirSync(join(output, 'prod')).includes('web.yaml'));
      assert.match(snapshot(join(output, 'prod'))['web.yaml'], /seen: "?as data"?/);
    });
  });
});
