import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { noSchemasReason, repoRoot } from '../support/tools';
import { tempDir } from '../support/tmp';
import type { Value } from './support/expressions';
import { allowedBuiltInTasks, loadOurTasks, pipelineSchemaCheck } from './support/tasks';
import { templatesDirOf, validateFile, type Validator } from './support/validate';

const templatesDir = templatesDirOf(repoRoot);
const examplesDir = join(repoRoot, 'examples', 'pipelines');
const ourRepository = ['bedrock-gitops/bedrock-gitops-azure-pipelines'];

/** Parameter sets that together select every `${{ if }}` branch of each template. */
const required = {
  'build-update-hld.yml': { imageRepository: 'team/api', subcomponent: 'api', containerRegistry: 'preprod-acr' },
  'manifest-generation.yml': { manifestRepositoryUrl: 'https://dev.azure.com/o/p/_git/manifests' },
  'promote.yml': {
    hldRepositoryUrl: 'https://dev.azure.com/o/p/_git/hld',
    manifestRepositoryUrl: 'https://dev.azure.com/o/p/_git/manifests',
    subcomponent: 'api',
    sourceImage: 'preprod.azurecr.io/team/api:42',
    environments: [{ name: 'prod', azureDevOpsEnvironment: 'production', targetRegistry: 'prod.azurecr.io' }],
  },
  'gitops.yml': {
    containerRegistry: 'preprod-acr',
    registryHost: 'preprod.azurecr.io',
    imageRepository: 'team/api',
    subcomponent: 'api',
    hldRepositoryUrl: 'https://dev.azure.com/o/p/_git/hld',
    manifestRepositoryUrl: 'https://dev.azure.com/o/p/_git/manifests',
  },
} satisfies Record<string, Record<string, Value>>;

const parameterSets: [string, string, Record<string, Value>][] = [
  ['build-update-hld.yml', 'defaults (Docker@2, HLD checkout, direct push)', {}],
  ['build-update-hld.yml', 'script build, HLD cloned by URL, pull request, registry host, git connection', {
    buildMode: 'script',
    buildSteps: [{ script: 'make image', displayName: 'Build' }],
    hldRepositoryUrl: 'https://dev.azure.com/o/p/_git/hld',
    pushMode: 'pullRequest',
    autoComplete: 'true',
    registryHost: 'preprod.azurecr.io',
    gitConnection: 'hld-connection',
  }],
  ['manifest-generation.yml', 'defaults (one job)', {}],
  ['manifest-generation.yml', 'fan-out over four environments, HLD by URL, pull requests, no publish branch', {
    environments: [{ name: 'dev' }, { name: 'staging' }, { name: 'prod_east', environments: 'prod-east prod' }, { name: 'prod_west', environments: 'prod-west prod' }],
    checkoutHld: 'false',
    hldRepositoryUrl: 'https://dev.azure.com/o/p/_git/hld',
    pushMode: 'pullRequest',
    commentOnPullRequest: 'true',
    publishBranch: '',
    gitConnection: 'git-connection',
  }],
  ['promote.yml', 'one environment, no verification, direct push', {}],
  ['promote.yml', 'chained environments with verification, smoke tests, connections, pull requests', {
    pushMode: 'pullRequest',
    pinDigest: 'tagAtDigest',
    gitConnection: 'git-connection',
    dependsOn: ['build'],
    variables: { builtTag: '42' },
    environments: [
      { name: 'canary', azureDevOpsEnvironment: 'canary', targetRegistry: 'prod.azurecr.io', sourceRegistryConnection: 'pre', targetRegistryConnection: 'prod',
        verifyManifestRepositoryUrl: 'https://dev.azure.com/o/p/_git/manifests', verifyEnvironmentPath: 'staging', smokeTests: [{ script: 'echo smoke' }] },
      { name: 'prod', dependsOn: ['promote_canary'], azureDevOpsEnvironment: 'production', targetRegistry: 'prod.azurecr.io', hldEnvironment: 'prod', sourceImage: 'prod.azurecr.io/team/api:42' },
    ],
  }],
  ['gitops.yml', 'defaults (no promotion)', {}],
  ['gitops.yml', 'promotion to two environments', {
    promotionEnvironments: [
      { name: 'canary', azureDevOpsEnvironment: 'canary', targetRegistry: 'prod.azurecr.io' },
      { name: 'prod', azureDevOpsEnvironment: 'production', targetRegistry: 'prod.azurecr.io', dependsOn: ['promote_canary'] },
    ],
  }],
  ['gitops.yml', 'script build and HLD pull request (no manifest or promotion stages)', {
    buildMode: 'script',
    buildSteps: [{ script: 'make image' }],
    hldPushMode: 'pullRequest',
  }],
];

const exampleParameters: Record<string, Record<string, Value>> = { 'promote-release.yml': { imageTag: '1.2.3' } };

describe('pipeline templates and consumer examples', function () {
  this.timeout(180_000);
  let validator: Validator;

  let schemaBuiltIns: Set<string> | undefined;

  before(async () => {
    const tasks = loadOurTasks();
    const schema = await pipelineSchemaCheck(tasks);
    if (!schema) console.log(`    pipeline templates: ${noSchemasReason}; the expansion and structure checks still run`);
    schemaBuiltIns = schema?.builtIns;
    validator = { schema: schema?.check, builtIns: new Set(allowedBuiltInTasks.map((t) => t.toLowerCase())), tasks, templatesDir };
  });

  it('uses only built-in tasks the service schema knows', function () {
    if (!schemaBuiltIns) return this.skip();
    for (const task of allowedBuiltInTasks) assert.ok(schemaBuiltIns.has(task.toLowerCase()), task);
  });

  const templateFiles = readdirSync(templatesDir).filter((f) => f.endsWith('.yml'));
  const exampleFiles = readdirSync(examplesDir).filter((f) => f.endsWith('.yml'));

  it('ships the four templates and at least one example using each', () => {
    assert.deepEqual(templateFiles.sort(), ['build-update-hld.yml', 'gitops.yml', 'manifest-generation.yml', 'promote.yml']);
    const used = exampleFiles.map((f) => readFileSync(join(examplesDir, f), 'utf8')).join('\n');
    for (const template of templateFiles) assert.match(used, new RegExp(`template: ${template.replace('.', '\\.')}@gitops`), template);
  });

  for (const file of [...templateFiles.map((f) => join(templatesDir, f)), ...exampleFiles.map((f) => join(examplesDir, f))]) {
    it(`${file.slice(repoRoot.length + 1)} parses as YAML`, () => {
      assert.equal(typeof yaml.load(readFileSync(file, 'utf8')), 'object');
    });
  }

  for (const [template, label, values] of parameterSets) {
    it(`${template} with ${label} is valid`, async () => {
      const given = { ...required[template as keyof typeof required], ...values };
      assert.deepEqual(await validateFile(validator, join(templatesDir, template), given), []);
    });
  }

  for (const example of exampleFiles) {
    it(`example ${example} is valid with the templates expanded into it`, async () => {
      assert.deepEqual(await validateFile(validator, join(examplesDir, example), exampleParameters[example] ?? {}, ourRepository), []);
    });
  }

  describe('catches mistakes in a broken copy', () => {
    /** Copies templates and examples to a temp dir, applies `edit` to one file, validates it. */
    function problemsAfter(relative: string, edit: (text: string) => string, parameters: Record<string, Value> = {}): Promise<string[]> {
      const root = tempDir();
      for (const folder of ['pipelines-templates', 'examples/pipelines']) {
        mkdirSync(join(root, folder), { recursive: true });
        for (const f of readdirSync(join(repoRoot, folder))) copyFileSync(join(repoRoot, folder, f), join(root, folder, f));
      }
      const target = join(root, relative);
      const original = readFileSync(target, 'utf8');
      const changed = edit(original);
      assert.notEqual(changed, original, 'the edit must change the file');
      writeFileSync(target, changed);
      const isExample = relative.startsWith('examples/');
      const given = isExample ? { ...(exampleParameters[relative.split('/').pop()!] ?? {}), ...parameters } : { ...required[relative.split('/').pop() as keyof typeof required], ...parameters };
      return validateFile({ ...validator, templatesDir: join(root, 'pipelines-templates') }, target, given, isExample ? ourRepository : []);
    }
    const mentions = async (pending: Promise<string[]>, pattern: RegExp) => {
      const problems = await pending;
      assert.ok(problems.some((p) => pattern.test(p)), `expected a problem matching ${pattern}, got:\n${problems.join('\n')}`);
    };

    it('a typo in a task input name', () => {
      return mentions(problemsAfter('pipelines-templates/build-update-hld.yml', (t) => t.replace('      subcomponent: ${{', '      subcomponnet: ${{')),
        /input 'subcomponnet' does not exist/);
    });

    it('a required task input left out', () => {
      const problems = problemsAfter('pipelines-templates/promote.yml', (t) => t.replace(/^ +targetRegistry: \$\{\{ env\.targetRegistry \}\}\n/m, ''));
      return mentions(problems, /required input 'targetRegistry' is not given/);
    });

    it('an input hidden by its visibleRule', () => {
      return mentions(problemsAfter('pipelines-templates/build-update-hld.yml', (t) => t.replace("      ${{ if eq(parameters.pushMode, 'pullRequest') }}:\n        autoComplete", '      autoComplete: ${{ parameters.autoComplete }}\n      ${{ if false }}:\n        autoComplete')),
        /input 'autoComplete' is set but hidden/);
    });

    it('a typo in a parameter reference', () => {
      return mentions(problemsAfter('pipelines-templates/manifest-generation.yml', (t) => t.replace('${{ parameters.manifestBranch }}', '${{ parameters.manifestBrnach }}')),
        /parameters\.manifestBrnach.*not declared/);
    });

    it('a typo in a parameter an example passes to a template', () => {
      return mentions(problemsAfter('examples/pipelines/service-gitops.yml', (t) => t.replace('    imageRepository: fabrikam/api', '    imageRepositry: fabrikam/api')),
        /unexpected parameter 'imageRepositry'/);
    });

    it('a parameter value outside its allowed values', () => {
      return mentions(problemsAfter('examples/pipelines/build-update-hld-pull-request.yml', (t) => t.replace('pushMode: pullRequest', 'pushMode: pullrequests')),
        /parameter 'pushMode' \(string\) must be one of direct, pullRequest/);
    });

    it('a pickList input value that is not an option', () => {
      return mentions(problemsAfter('pipelines-templates/promote.yml', (t) => t.replace('verification: none', 'verification: off')),
        /input 'verification' must be one of none, manifestRepo/);
    });

    it('a task we do not ship', () => {
      return mentions(problemsAfter('pipelines-templates/build-update-hld.yml', (t) => t.replace('task: UpdateImageTag@1', 'task: UpdateImageTags@1')),
        /UpdateImageTags@1.*unknown task/);
    });

    it('a wrong major version of our task', () => {
      return mentions(problemsAfter('pipelines-templates/manifest-generation.yml', (t) => t.replace('task: GenerateManifests@1', 'task: GenerateManifests@2')),
        /unknown task \(we ship GenerateManifests@1\)/);
    });

    it('an output variable the step does not set', () => {
      return mentions(problemsAfter('examples/pipelines/build-update-hld-pull-request.yml', (t) => t.replace("'updateImageTag.pullRequestUrl'", "'updateImageTag.pullRequestLink'")),
        /step 'updateImageTag' does not set output 'pullRequestLink'/);
    });

    it('a deployment job output read without the job prefix', () => {
      return mentions(problemsAfter('examples/pipelines/promote-release.yml', (t) => t.replace("outputs['promote.promote.promotedImage']", "outputs['promote.promotedImage']")),
        /outputs of deployment job 'promote' are read as 'promote\.<step>\.<variable>'/);
    });

    it('a cross-stage output read from a stage the stage does not depend on', () => {
      return mentions(problemsAfter('examples/pipelines/promote-release.yml', (t) => t.replace('  dependsOn: promote_prod\n', '  dependsOn: promote_canary\n')),
        /stage 'announce' does not depend on 'promote_prod'/);
    });

    it('an output read from a step name that does not exist', () => {
      return mentions(problemsAfter('pipelines-templates/gitops.yml', (t) => t.replace("${{ parameters.buildJobName }}.outputs['image.tag']", "${{ parameters.buildJobName }}.outputs['images.tag']"), {
        promotionEnvironments: [{ name: 'prod', azureDevOpsEnvironment: 'production', targetRegistry: 'prod.azurecr.io' }],
      }), /has no step named 'images'/);
    });

    it('a checkout of a repository the pipeline does not declare', () => {
      return mentions(problemsAfter('examples/pipelines/build-update-hld-pull-request.yml', (t) => t.replace('  - repository: hld\n', '  - repository: hld_repo\n')),
        /checkout 'hld' is not a repository declared/);
    });

    it('a misspelt YAML keyword the schema rejects', function () {
      if (!validator.schema) return this.skip();
      return mentions(problemsAfter('pipelines-templates/build-update-hld.yml', (t) => t.replace('persistCredentials: true', 'persistCredential: true')),
        /schema: /);
    });

    it('a built-in task input value the schema does not allow (checked after expansion)', function () {
      if (!validator.schema) return this.skip();
      return mentions(problemsAfter('pipelines-templates/build-update-hld.yml', (t) => t.replace('command: buildAndPush', 'command: buildAndPushh')),
        /schema: .*buildAndPushh.*Value is not accepted/);
    });

    it('an invalid job id', () => {
      return mentions(problemsAfter('examples/pipelines/hld-manifest-generation.yml', (t) => t.replace('name: prod_east', 'name: prod-east')),
        /job id 'manifests_prod-east' must be letters, digits and underscores/);
    });
  });
});
