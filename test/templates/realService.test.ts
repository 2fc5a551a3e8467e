/**
 * The templates as the real service runs them: where checkouts land, which steps and stages run
 * for which Build.Reason and branch, and which parameter combinations the service refuses at
 * expansion. Each template is expanded with our expander; runtime conditions are evaluated with
 * the variables the agent would have.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { model, unexpectedItems } from './support/checks';
import { expandFile } from './support/expand';
import { conditionHolds, type Value } from './support/expressions';
import { tempDir } from '../support/tmp';
import { repoRoot } from '../support/tools';

type Mapping = { [key: string]: Value };
const isMapping = (v: Value | undefined): v is Mapping => v !== null && typeof v === 'object' && !Array.isArray(v);

const templates = join(repoRoot, 'pipelines-templates');
const examples = join(repoRoot, 'examples', 'pipelines');
const expand = (file: string, parameters: Record<string, Value>) => expandFile(join(templates, file), parameters);
const expandExample = (file: string, parameters: Record<string, Value> = {}) => expandFile(join(examples, file), parameters, { repositories: { gitops: templates } });

const buildRequired = { imageRepository: 'team/api', subcomponent: 'api', containerRegistry: 'preprod-acr' };
const gitopsRequired = {
  containerRegistry: 'preprod-acr', registryHost: 'preprod.azurecr.io', imageRepository: 'team/api', subcomponent: 'api',
  hldRepositoryUrl: 'https://dev.azure.com/o/p/_git/hld', manifestRepositoryUrl: 'https://dev.azure.com/o/p/_git/manifests',
};
const promoteRequired = {
  hldRepositoryUrl: 'https://dev.azure.com/o/p/_git/hld', manifestRepositoryUrl: 'https://dev.azure.com/o/p/_git/manifests',
  subcomponent: 'api', sourceImage: 'preprod.azurecr.io/team/api:42',
};
const manifestRequired = { manifestRepositoryUrl: 'https://dev.azure.com/o/p/_git/manifests' };

/** Every raw step mapping of every job (deployment hooks included), with its job and stage. */
function allSteps(pipeline: Mapping): { stage: Mapping; job: Mapping; step: Mapping; steps: Mapping[] }[] {
  const out: { stage: Mapping; job: Mapping; step: Mapping; steps: Mapping[] }[] = [];
  for (const stage of model(pipeline)) {
    for (const job of stage.jobs) {
      const raw = job.node;
      const lists: Value[][] = Array.isArray(raw.steps) ? [raw.steps] : [];
      const deploy = (((raw.strategy as Mapping | undefined)?.runOnce as Mapping | undefined)?.deploy as Mapping | undefined)?.steps;
      if (Array.isArray(deploy)) lists.push(deploy);
      for (const list of lists) {
        const steps = list.filter(isMapping);
        for (const step of steps) out.push({ stage: stage.node, job: raw, step, steps });
      }
    }
  }
  return out;
}

function stepNamed(pipeline: Mapping, name: string): { stage: Mapping; job: Mapping; step: Mapping; steps: Mapping[] } {
  const found = allSteps(pipeline).find((s) => s.step.name === name);
  assert.ok(found, `no step named ${name}`);
  return found;
}

const reasons = ['IndividualCI', 'BatchedCI', 'Manual', 'Schedule', 'ResourceTrigger', 'PullRequest'];

describe('templates as the real service runs them', () => {
  describe('build-update-hld.yml', () => {
    it('builds in the service repository\'s folder, not the parent of the two checkouts', () => {
      const pipeline = expand('build-update-hld.yml', buildRequired);
      const checkouts = allSteps(pipeline).map((s) => s.step).filter((s) => 'checkout' in s);
      assert.deepEqual(checkouts.map((c) => [c.checkout, c.path]), [['self', 'service'], ['hld', 'hld']]);
      const docker = allSteps(pipeline).find((s) => s.step.task === 'Docker@2')!.step.inputs as Mapping;
      assert.equal(docker.buildContext, '$(Pipeline.Workspace)/service/.');
      assert.equal(docker.Dockerfile, '$(Pipeline.Workspace)/service/**/Dockerfile');
      const custom = expand('build-update-hld.yml', { ...buildRequired, buildContext: 'src', dockerfile: 'src/Dockerfile' });
      const customInputs = allSteps(custom).find((s) => s.step.task === 'Docker@2')!.step.inputs as Mapping;
      assert.deepEqual([customInputs.buildContext, customInputs.Dockerfile], ['$(Pipeline.Workspace)/service/src', '$(Pipeline.Workspace)/service/src/Dockerfile']);
    });

    it('writes the HLD in every build but a pull-request validation build', () => {
      for (const hldRepositoryUrl of ['', 'https://dev.azure.com/o/p/_git/hld']) {
        const { step } = stepNamed(expand('build-update-hld.yml', { ...buildRequired, hldRepositoryUrl }), 'updateImageTag');
        for (const reason of reasons) {
          assert.equal(conditionHolds(step.condition, { 'Build.Reason': reason }), reason !== 'PullRequest', `${reason} (url '${hldRepositoryUrl}')`);
        }
      }
    });

    it('passes hldBranch to the task in checkout mode as well as with hldRepositoryUrl', () => {
      for (const hldRepositoryUrl of ['', 'https://dev.azure.com/o/p/_git/hld']) {
        const inputs = stepNamed(expand('build-update-hld.yml', { ...buildRequired, hldRepositoryUrl, hldBranch: 'release/2' }), 'updateImageTag').step.inputs as Mapping;
        assert.equal(inputs.hldBranch, 'release/2', `url '${hldRepositoryUrl}'`);
      }
    });

    it('refuses buildMode docker without containerRegistry at expansion, naming the parameter', () => {
      const problems = unexpectedItems(expand('build-update-hld.yml', { ...buildRequired, containerRegistry: '' }));
      assert.equal(problems.length, 1);
      assert.match(problems[0], /unexpected value 'ERROR: build-update-hld\.yml: buildMode docker needs the containerRegistry parameter/);
      assert.deepEqual(unexpectedItems(expand('build-update-hld.yml', { ...buildRequired, containerRegistry: '', buildMode: 'script', buildSteps: [{ script: 'make' }] })), []);
      assert.deepEqual(unexpectedItems(expand('build-update-hld.yml', buildRequired)), []);
    });
  });

  describe('gitops.yml', () => {
    const promotion = [{ name: 'prod', azureDevOpsEnvironment: 'production', targetRegistry: 'prod.azurecr.io' }];

    it('refuses promotion environments in pull-request mode at expansion, saying what to do', () => {
      const problems = unexpectedItems(expand('gitops.yml', { ...gitopsRequired, hldPushMode: 'pullRequest', promotionEnvironments: promotion }));
      assert.equal(problems.length, 1);
      assert.match(problems[0], /ERROR: gitops\.yml: promotionEnvironments need hldPushMode direct.*promote from a pipeline that runs after the merge/);
      assert.deepEqual(unexpectedItems(expand('gitops.yml', { ...gitopsRequired, hldPushMode: 'pullRequest' })), []);
      assert.deepEqual(unexpectedItems(expand('gitops.yml', { ...gitopsRequired, promotionEnvironments: promotion })), []);
    });

    it('passes hldBranch through to the build job\'s HLD update', () => {
      const inputs = stepNamed(expand('gitops.yml', { ...gitopsRequired, hldBranch: 'gitops' }), 'updateImageTag').step.inputs as Mapping;
      assert.equal(inputs.hldBranch, 'gitops');
    });

    it('a pull-request build neither updates the HLD nor renders nor promotes', () => {
      const pipeline = expand('gitops.yml', { ...gitopsRequired, promotionEnvironments: promotion });
      const stages = (pipeline.stages as Mapping[]).filter(isMapping);
      assert.deepEqual(stages.map((s) => s.stage), ['build', 'manifests', 'promote_prod']);
      for (const reason of reasons) {
        const runs = reason !== 'PullRequest';
        for (const stage of stages.slice(1)) assert.equal(conditionHolds(stage.condition, { 'Build.Reason': reason }), runs, `${stage.stage} on ${reason}`);
        assert.equal(conditionHolds(stepNamed(pipeline, 'updateImageTag').step.condition, { 'Build.Reason': reason }), runs);
      }
    });
  });

  describe('promote.yml', () => {
    it('binds each deployment job to azureDevOpsEnvironment, or to an environment named like the item', () => {
      const pipeline = expand('promote.yml', {
        ...promoteRequired,
        environments: [{ name: 'canary', targetRegistry: 'prod.azurecr.io' }, { name: 'prod', azureDevOpsEnvironment: 'production', targetRegistry: 'prod.azurecr.io' }],
      });
      const jobs = model(pipeline).flatMap((s) => s.jobs).filter((j) => j.deployment);
      assert.deepEqual(jobs.map((j) => j.node.environment), ['canary', 'production']);
    });
  });

  describe('manifest-generation.yml', () => {
    const cases: [string, string, string | undefined][] = [
      // [Build.Reason, Build.SourceBranch, step expected to run]
      ['PullRequest', 'refs/pull/7/merge', 'dryRun'],
      ['IndividualCI', 'refs/heads/main', 'publish'],
      ['Manual', 'refs/heads/main', 'publish'],
      ['IndividualCI', 'refs/heads/feature/x', 'dryRun'],
      ['Manual', 'refs/heads/release/1', 'dryRun'],
    ];
    for (const publishBranch of ['refs/heads/main', '']) {
      it(`runs exactly one of the dry run and the publish for every kind of build (publishBranch '${publishBranch}')`, () => {
        const pipeline = expand('manifest-generation.yml', { ...manifestRequired, publishBranch });
        const dryRun = stepNamed(pipeline, 'dryRun').step;
        const publish = stepNamed(pipeline, 'publish').step;
        for (const [reason, branch, expected] of cases) {
          const variables = { 'Build.Reason': reason, 'Build.SourceBranch': branch };
          const running = [dryRun, publish].filter((s) => conditionHolds(s.condition, variables)).map((s) => s.name);
          const want = publishBranch === '' && reason !== 'PullRequest' ? 'publish' : expected;
          assert.deepEqual(running, [want], `${reason} ${branch}`);
        }
      });
    }
  });

  describe('consumer examples', () => {
    it('promote-release.yml checks out the repository before running its smoke-test script', () => {
      const { step, steps } = allSteps(expandExample('promote-release.yml', { imageTag: '1.2.3' })).find((s) => String(s.step.script ?? '').startsWith('./scripts/'))!;
      const checkout = steps.findIndex((s) => s.checkout === 'self');
      assert.ok(checkout >= 0 && checkout < steps.indexOf(step), 'a checkout: self precedes the script');
    });

    it('build-update-hld-pull-request.yml builds in the service folder with a buildx builder, and has no PR builds', () => {
      const raw = yaml.load(readFileSync(join(examples, 'build-update-hld-pull-request.yml'), 'utf8')) as Mapping;
      assert.equal(raw.pr, 'none');
      const build = allSteps(expandExample('build-update-hld-pull-request.yml')).find((s) => /buildx build/.test(String(s.step.script)))!.step;
      assert.equal(build.workingDirectory, '$(Pipeline.Workspace)/service');
      const script = String(build.script);
      assert.ok(script.indexOf('docker buildx create') >= 0 && script.indexOf('docker buildx create') < script.indexOf('docker buildx build'));
    });

    it('an example with a pr: trigger says that Azure Repos needs a build validation policy instead', () => {
      for (const file of ['service-gitops.yml', 'hld-manifest-generation.yml', 'promote-release.yml', 'build-update-hld-pull-request.yml']) {
        const text = readFileSync(join(examples, file), 'utf8');
        const raw = yaml.load(text) as Mapping;
        if (raw.pr !== undefined && raw.pr !== 'none') assert.match(text, /Azure Repos ignores it[\s\S]*build validation/i, file);
      }
      assert.match(readFileSync(join(templates, 'README.md'), 'utf8'), /\*build validation\* branch policy/);
    });

    it('pin the templates to the moving major tag the release script creates', () => {
      const major = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version.split('.')[0];
      for (const file of ['service-gitops.yml', 'hld-manifest-generation.yml', 'promote-release.yml', 'build-update-hld-pull-request.yml']) {
        const raw = yaml.load(readFileSync(join(examples, file), 'utf8')) as { resources: { repositories: { repository: string; ref?: string }[] } };
        assert.equal(raw.resources.repositories.find((r) => r.repository === 'gitops')?.ref, `refs/tags/v${major}`, file);
      }
    });
  });
});

describe('scripts/release.mjs', () => {
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
  const release = (cwd: string) => execFileSync(process.execPath, [join(repoRoot, 'scripts', 'release.mjs'), '--project', cwd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  function project(version: string): string {
    const dir = tempDir('bg-release-');
    for (const file of ['vss-extension.json', 'package.json']) cpSync(join(repoRoot, file), join(dir, file));
    setVersion(dir, version);
    git(dir, 'init', '--quiet', '--initial-branch', 'main');
    git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '--quiet', '--all', '--allow-empty', '-m', 'start');
    git(dir, 'add', '.');
    git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '--quiet', '-m', `release ${version}`);
    return dir;
  }

  function setVersion(dir: string, version: string) {
    for (const file of ['vss-extension.json', 'package.json']) {
      const path = join(dir, file);
      writeFileSync(path, readFileSync(path, 'utf8').replace(/("version"\s*:\s*")[^"]*(")/, `$1${version}$2`));
    }
  }

  it('tags HEAD with the exact version and moves the major tag with each release', () => {
    const dir = project('1.4.2');
    const first = git(dir, 'rev-parse', 'HEAD');
    assert.match(release(dir), /tagged .*: v1\.4\.2 and v1\n.*git push origin refs\/tags\/v1\.4\.2\n.*git push --force origin refs\/tags\/v1\n/);
    assert.deepEqual([git(dir, 'rev-parse', 'v1.4.2^{commit}'), git(dir, 'rev-parse', 'v1^{commit}')], [first, first]);

    setVersion(dir, '1.5.0');
    git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '--quiet', '--all', '-m', 'release 1.5.0');
    const second = git(dir, 'rev-parse', 'HEAD');
    release(dir);
    assert.deepEqual([git(dir, 'rev-parse', 'v1.4.2^{commit}'), git(dir, 'rev-parse', 'v1.5.0^{commit}'), git(dir, 'rev-parse', 'v1^{commit}')], [first, second, second]);
  });

  it('refuses to move an exact version tag, and to tag uncommitted changes', () => {
    const dir = project('2.0.0');
    release(dir);
    git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '--quiet', '--allow-empty', '-m', 'later');
    assert.throws(() => release(dir), /v2\.0\.0 already tags/);
    setVersion(dir, '2.0.1');
    assert.throws(() => release(dir), /uncommitted changes/);
  });
});
