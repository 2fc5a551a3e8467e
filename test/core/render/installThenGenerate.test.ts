// Install and generate are two steps, as `fab install` then `fab generate` (issue 12, item 6):
// install fetches into components/<name> and helm_repos/<name> and records the source; generate
// after it (install: false, the CLI's `generate`) reads those copies offline, never overwrites
// them, never runs the install hooks again, and refuses a copy made for another source.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitopsError } from '../../../tasks/core/errors';
import { MemoryLogger } from '../../../tasks/core/logger';
import { generate, GenerateOptions, RenderedTree } from '../../../tasks/core/render/generate';
import { install } from '../../../tasks/core/render/installTree';
import { buildChartRepository, createChart, FileServer, serveDirectory } from '../../support/chartRepo';
import { bareRepo, writeTree } from '../../support/hldFixtures';
import { helm4 } from '../../support/tools';
import { tempDir } from '../../support/tmp';

const env = { PATH: process.env.PATH };

function render(hldDir: string, options: Partial<GenerateOptions> = {}): Promise<RenderedTree> {
  return generate({ hldDir, helmPath: helm4, environmentSets: [[]], outputDir: join(tempDir('bg-out-'), 'generated'), env, logger: new MemoryLogger(), allowLocalGitSources: true, ...options });
}

function fileOf(tree: RenderedTree, path: string): string {
  const file = tree.environmentSets[0].files.find((f) => f.path === path);
  assert.ok(file, `${path} was not rendered`);
  return file.content;
}

const namespace = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;

describe('install, then generate (fab install; fab generate)', () => {
  let files: FileServer;
  let filesRoot: string;
  before(async () => {
    filesRoot = writeTree(tempDir(), { 'ns.yaml': namespace('v1'), 'other.yaml': namespace('other') });
    files = await serveDirectory(filesRoot);
  });
  after(() => files.stop());

  const httpHld = (file: string) =>
    writeTree(tempDir('bg-hld-'), { 'component.yaml': `name: root\nsubcomponents:\n  - name: remote\n    type: static\n    method: http\n    source: ${files.url}/${file}\n` });

  it('install downloads an http static; generate renders that copy without a request and leaves it as it is', async () => {
    writeFileSync(join(filesRoot, 'ns.yaml'), namespace('v1'));
    const hld = httpHld('ns.yaml');
    await install({ hldDir: hld, env, logger: new MemoryLogger(), allowLocalGitSources: true });
    const installed = join(hld, 'components', 'remote', 'remote.yaml');
    assert.equal(readFileSync(installed, 'utf8'), namespace('v1'));
    // The server's file changes after install: generate renders what install put there.
    writeFileSync(join(filesRoot, 'ns.yaml'), namespace('v2'));
    const requests = files.requests.length;
    const tree = await render(hld, { install: false });
    assert.equal(files.requests.length, requests, 'generate after install made no request');
    assert.match(fileOf(tree, 'remote.yaml'), /name: v1/);
    assert.equal(readFileSync(installed, 'utf8'), namespace('v1'));
    // A second install brings the new content; generate then renders it.
    await install({ hldDir: hld, env, logger: new MemoryLogger(), allowLocalGitSources: true });
    assert.match(fileOf(await render(hld, { install: false }), 'remote.yaml'), /name: v2/);
  });

  it('generate installs a source not installed yet, so one step still works', async () => {
    writeFileSync(join(filesRoot, 'ns.yaml'), namespace('v1'));
    const hld = httpHld('ns.yaml');
    assert.match(fileOf(await render(hld, { install: false }), 'remote.yaml'), /name: v1/);
    assert.ok(existsSync(join(hld, 'components', 'remote', 'remote.yaml')));
  });

  it('generate refuses a copy installed for another source, naming the component and install; install replaces it', async () => {
    const hld = httpHld('ns.yaml');
    await install({ hldDir: hld, env, logger: new MemoryLogger(), allowLocalGitSources: true });
    writeFileSync(join(hld, 'component.yaml'), readFileSync(join(hld, 'component.yaml'), 'utf8').replace('ns.yaml', 'other.yaml'));
    await assert.rejects(render(hld, { install: false }), (error: GitopsError) => {
      assert.match(error.describe(), /component\.yaml.*component "remote": components\/remote was installed for another source \(http http:\/\/127\.0\.0\.1:\d+\/ns\.yaml\); the HLD now declares http http:\/\/127\.0\.0\.1:\d+\/other\.yaml/);
      assert.match(error.describe(), /run `bedrock-gitops install`/);
      return true;
    });
    await install({ hldDir: hld, env, logger: new MemoryLogger(), allowLocalGitSources: true });
    assert.match(fileOf(await render(hld, { install: false }), 'remote.yaml'), /name: other/);
  });

  it('the one-step generate (the task) replaces a copy installed for another source', async () => {
    const hld = httpHld('ns.yaml');
    await install({ hldDir: hld, env, logger: new MemoryLogger(), allowLocalGitSources: true });
    writeFileSync(join(hld, 'component.yaml'), readFileSync(join(hld, 'component.yaml'), 'utf8').replace('ns.yaml', 'other.yaml'));
    assert.match(fileOf(await render(hld), 'remote.yaml'), /name: other/);
  });

  it('a vendored components/<name> (no install record) is used as it is by both steps', async () => {
    const hld = writeTree(httpHld('missing.yaml'), { 'components/remote/remote.yaml': namespace('vendored') });
    await install({ hldDir: hld, env, logger: new MemoryLogger(), allowLocalGitSources: true });
    assert.match(fileOf(await render(hld, { install: false }), 'remote.yaml'), /name: vendored/);
    assert.match(fileOf(await render(hld), 'remote.yaml'), /name: vendored/);
  });

  it('install hooks run at install, not again at generate; the one-step generate runs them once', async () => {
    const component = [
      'name: root',
      'hooks:',
      '  before-install: ["echo before-install >> hooks.log"]',
      '  after-install: ["echo after-install >> hooks.log"]',
      '  before-generate: ["echo before-generate >> hooks.log"]',
      'subcomponents:',
      '  - name: child',
      '    type: static',
      '    path: ./manifests',
      '    hooks: {after-install: ["mkdir -p manifests && echo \'kind: A\' > manifests/a.yaml && echo child-install >> hooks.log"]}',
      '',
    ].join('\n');
    const hld = writeTree(tempDir('bg-hld-'), { 'component.yaml': component });
    const log = () => readFileSync(join(hld, 'hooks.log'), 'utf8').trim().split('\n');
    await install({ hldDir: hld, env, logger: new MemoryLogger(), allowLocalGitSources: true });
    assert.deepEqual(log(), ['before-install', 'after-install', 'child-install']);
    assert.match(fileOf(await render(hld, { install: false }), 'child.yaml'), /kind: A/);
    assert.deepEqual(log(), ['before-install', 'after-install', 'child-install', 'before-generate']);
    // A changed install hook is a new install: generate runs it (nothing else was installed).
    writeFileSync(join(hld, 'component.yaml'), component.replace('echo after-install', 'echo after-install-2'));
    await render(hld, { install: false });
    assert.deepEqual(log().slice(4), ['before-install', 'after-install-2', 'before-generate']);

    const oneStep = writeTree(tempDir('bg-hld-'), { 'component.yaml': component });
    await render(oneStep);
    assert.deepEqual(readFileSync(join(oneStep, 'hooks.log'), 'utf8').trim().split('\n'), ['before-install', 'after-install', 'before-generate', 'child-install']);
  });

  it('the install record is never read or written through a components/ symlink that leaves the HLD', async () => {
    const outside = tempDir('bg-outside-');
    writeFileSync(join(outside, '.installed-hooks.json'), '{}');
    const hld = writeTree(tempDir('bg-hld-'), { 'component.yaml': 'name: root\nhooks:\n  after-install: ["echo ran >> hooks.log"]\n' });
    symlinkSync(outside, join(hld, 'components'));
    const logger = new MemoryLogger();
    await install({ hldDir: hld, env, logger, allowLocalGitSources: true });
    assert.deepEqual(readdirSync(outside), ['.installed-hooks.json']);
    assert.equal(readFileSync(join(outside, '.installed-hooks.json'), 'utf8'), '{}');
    assert.ok(logger.warnings.some((line) => /record of the install hooks .* not written .*resolves outside the HLD repository/.test(line)), logger.warnings.join('\n'));
    // Without a record, generate runs the install hook again (nothing is skipped on a file it may not trust).
    await render(hld, { install: false });
    assert.equal(readFileSync(join(hld, 'hooks.log'), 'utf8'), 'ran\nran\n');
  });

  it('the install record committed as a symlink to an outside file is neither read nor written', async () => {
    const outside = join(tempDir('bg-outside-'), 'record.json');
    writeFileSync(outside, '{}');
    const hld = writeTree(tempDir('bg-hld-'), { 'component.yaml': 'name: root\nhooks:\n  after-install: ["echo ran >> hooks.log"]\n', 'components/keep': '' });
    symlinkSync(outside, join(hld, 'components', '.installed-hooks.json'));
    const logger = new MemoryLogger();
    await install({ hldDir: hld, env, logger, allowLocalGitSources: true });
    assert.equal(readFileSync(outside, 'utf8'), '{}');
    assert.ok(logger.warnings.some((line) => /record of the install hooks .* not written .*install record .*resolves outside the HLD repository/.test(line)), logger.warnings.join('\n'));
  });

  it('a git component on a branch: generate after install neither looks the branch up nor clones', async () => {
    const source = await bareRepo({ 'component.yaml': 'name: shared\nsubcomponents:\n  - name: cm\n    type: static\n    path: ./manifests\n', 'manifests/cm.yaml': namespace('from-git') });
    const hld = writeTree(tempDir('bg-hld-'), { 'component.yaml': `name: root\nsubcomponents:\n  - name: shared\n    method: git\n    source: ${source.url}\n    branch: main\n` });
    const installed = await install({ hldDir: hld, env, logger: new MemoryLogger(), allowLocalGitSources: true });
    assert.equal(installed.fetches.gitClones, 1);
    const tree = await render(hld, { install: false });
    assert.deepEqual([tree.stats.fetches.gitClones, tree.stats.fetches.gitBranchLookups], [0, 0]);
    assert.match(fileOf(tree, 'shared/cm.yaml'), /name: from-git/);
    // The one-step generate checks the branch (it may have moved) and finds the copy current.
    const oneStep = await render(hld);
    assert.deepEqual([oneStep.stats.fetches.gitBranchLookups, oneStep.stats.fetches.gitClones], [1, 1]);
    // A branch change in the HLD is another source: refused until install.
    writeFileSync(join(hld, 'component.yaml'), readFileSync(join(hld, 'component.yaml'), 'utf8').replace('branch: main', `version: ${source.commit}`));
    await assert.rejects(render(hld, { install: false }), /component "shared": components\/shared was installed for another source \(git .* branch main\); the HLD now declares git .* version [0-9a-f]{40}/);
  });

  describe('chart from a repository', () => {
    let charts: FileServer;
    before(async () => {
      charts = await serveDirectory(await buildChartRepository(helm4, [await createChart(helm4, 'web')]));
    });
    after(() => charts.stop());

    it('generate after install renders helm_repos/<name> offline; a new version is refused until install', async () => {
      const component = (version: string) => `name: root\nsubcomponents:\n  - name: site\n    type: helm\n    method: helm\n    source: ${charts.url}\n    path: web\n    version: ${version}\n`;
      const hld = writeTree(tempDir('bg-hld-'), { 'component.yaml': component('0.1.0') });
      await install({ hldDir: hld, helmPath: helm4, env, logger: new MemoryLogger(), allowLocalGitSources: true });
      assert.ok(existsSync(join(hld, 'helm_repos', 'site', 'Chart.yaml')));
      const requests = charts.requests.length;
      // No cache folder: a fetch would have to reach the server.
      assert.match(fileOf(await render(hld, { install: false }), 'site.yaml'), /name: site-web/);
      assert.equal(charts.requests.length, requests, 'generate after install pulled nothing');
      writeFileSync(join(hld, 'component.yaml'), component('0.2.0'));
      await assert.rejects(render(hld, { install: false }), /component "site": helm_repos\/site was installed for another source \(helm http:\/\/127\.0\.0\.1:\d+, path web, version 0\.1\.0\)/);
    });
  });
});
