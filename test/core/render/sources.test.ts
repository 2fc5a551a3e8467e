import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContentCache } from '../../../tasks/core/render/cache';
import { Helm } from '../../../tasks/core/render/helm';
import { SourceFetcher } from '../../../tasks/core/render/sources';
import { GitopsError } from '../../../tasks/core/errors';
import { runProcess } from '../../../tasks/core/exec';
import { MemoryLogger } from '../../../tasks/core/logger';
import { buildChartRepository, createChart, FileServer, isolatedHelmEnv, serveDirectory } from '../../support/chartRepo';
import { git, testGitEnv, startGitServer, GitServer } from '../../support/gitServer';
import { startRegistry, TestRegistry } from '../../support/registry';
import { helmBinaries, helm4 } from '../../support/tools';
import { tempDir } from '../../support/tmp';
import { bareRepo, writeTree as writeTreeOf } from '../../support/hldFixtures';

const env = { PATH: process.env.PATH };

/** A script named `name` that appends its argv to a log, then runs the real program. */
function argvRecorder(program: string, name: string): { wrapper: string; log: string } {
  const dir = tempDir('bg-argv-');
  const log = join(dir, 'argv.log');
  const wrapper = join(dir, name);
  writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${log}'\nexec '${program}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  return { wrapper, log };
}

function fetcherFor(helmPath: string, cacheRoot = tempDir('bg-cache-')): SourceFetcher {
  const work = tempDir('bg-work-');
  let helm: Promise<Helm> | undefined;
  return new SourceFetcher({
    cache: new ContentCache(cacheRoot),
    helm: () => (helm ??= Helm.locate({ helmPath, env, workDir: work, logger: new MemoryLogger() })),
    env,
    logger: new MemoryLogger(),
    // The fixtures are file:// repositories.
    allowLocalGitSources: true,
  });
}

/** A bare repo at file:// with two commits on main, a tag v1 on the first, and a branch `next`. */
async function createGitRepo(): Promise<{ url: string; first: string; second: string }> {
  const dir = tempDir('bg-gitsrc-');
  const work = join(dir, 'work');
  const gitEnv = testGitEnv();
  mkdirSync(work);
  await git(['init', '-q', '-b', 'main'], { cwd: work, env: gitEnv });
  writeFileSync(join(work, 'file.txt'), 'one\n');
  await git(['add', '.'], { cwd: work, env: gitEnv });
  await git(['commit', '-q', '-m', 'one'], { cwd: work, env: gitEnv });
  const first = (await git(['rev-parse', 'HEAD'], { cwd: work, env: gitEnv })).trim();
  await git(['tag', 'v1'], { cwd: work, env: gitEnv });
  writeFileSync(join(work, 'file.txt'), 'two\n');
  await git(['commit', '-q', '-am', 'two'], { cwd: work, env: gitEnv });
  const second = (await git(['rev-parse', 'HEAD'], { cwd: work, env: gitEnv })).trim();
  await git(['clone', '-q', '--bare', work, join(dir, 'repo.git')], { env: gitEnv });
  return { url: `file://${join(dir, 'repo.git')}`, first, second };
}

describe('render sources', () => {
  describe('helm binary', () => {
    for (const { major, path } of helmBinaries) {
      it(`detects helm ${major} from its version output`, async () => {
        const helm = await Helm.locate({ helmPath: path, env, workDir: tempDir(), logger: new MemoryLogger() });
        assert.equal(helm.major, major);
        assert.match(helm.version, new RegExp(`^v${major}\\.\\d+\\.\\d+$`));
      });

      it(`helm ${major}: template returns stdout only, even when helm warns on stderr`, async () => {
        // helm reports a symbolic link inside a chart on stderr.
        const chart = await createChart(path, 'warner', (dir) => symlinkSync('../values.yaml', join(dir, 'templates', 'link.txt')));
        const values = join(tempDir(), 'values.yaml');
        writeFileSync(values, 'replicaCount: 2\n');
        const helm = await Helm.locate({ helmPath: path, env, workDir: tempDir(), logger: new MemoryLogger() });
        const raw = await runProcess(path, ['template', 'w', chart, '--values', values], { env: isolatedHelmEnv() });
        assert.match(raw.stderr, /symbolic link/, 'the fixture must make helm warn');
        const out = await helm.template({ releaseName: 'w', chartDir: chart, valuesFile: values, namespace: 'default' });
        assert.doesNotMatch(out, /symbolic link/);
        assert.match(out, /kind: Deployment/);
      });
    }

    it('names the missing helm and what to do', async () => {
      await assert.rejects(Helm.locate({ env: { PATH: '/nonexistent' }, workDir: tempDir(), logger: new MemoryLogger() }), (error: GitopsError) => {
        assert.match(error.describe(), /helm was not found on PATH.*--helm/);
        return true;
      });
    });
  });

  describe('chart repository over http', () => {
    let open: FileServer;
    let locked: FileServer;
    before(async () => {
      const repo = await buildChartRepository(helm4, [await createChart(helm4, 'web')]);
      open = await serveDirectory(repo);
      locked = await serveDirectory(repo, { auth: { username: 'ci', password: 'repo-secret-1' } });
    });
    after(async () => {
      await open.stop();
      await locked.stop();
    });

    for (const { major, path } of helmBinaries) {
      it(`helm ${major}: pulls a chart by version`, async () => {
        const dir = await fetcherFor(path).chart({ url: open.url, chart: 'web', version: '0.1.0' });
        assert.match(readFileSync(join(dir, 'Chart.yaml'), 'utf8'), /name: web/);
      });

      it(`helm ${major}: pulls with basic auth, the password never in argv`, async () => {
        const { wrapper, log } = argvRecorder(path, 'helm');
        const dir = await fetcherFor(wrapper).chart({ url: locked.url, chart: 'web', version: '0.1.0', credentials: { username: 'ci', password: 'repo-secret-1' } });
        assert.ok(existsSync(join(dir, 'Chart.yaml')));
        const argv = readFileSync(log, 'utf8');
        assert.match(argv, /pull/);
        assert.ok(!argv.includes('repo-secret-1'));
      });

      it(`helm ${major}: fails clearly without the credentials`, async () => {
        await assert.rejects(fetcherFor(path).chart({ url: locked.url, chart: 'web', version: '0.1.0' }), /helm pull failed.*401|helm pull failed/);
      });
    }

    it('a second run with the same cache pulls nothing', async () => {
      const cache = tempDir('bg-cache-');
      await fetcherFor(helm4, cache).chart({ url: open.url, chart: 'web', version: '0.1.0' });
      const before = open.requests.length;
      const second = fetcherFor(helm4, cache);
      await second.chart({ url: open.url, chart: 'web', version: '0.1.0' });
      assert.equal(open.requests.length, before);
      assert.equal(second.counts.chartPulls, 0);
    });
  });

  describe('OCI chart', () => {
    let registry: TestRegistry;
    let secured: TestRegistry;
    before(async () => {
      registry = await startRegistry();
      secured = await startRegistry({ auth: 'htpasswd' });
      const chart = await createChart(helm4, 'api');
      const packages = tempDir();
      await runProcess(helm4, ['package', chart, '--destination', packages], { env: isolatedHelmEnv() });
      const pushed = await runProcess(helm4, ['push', join(packages, 'api-0.1.0.tgz'), `oci://${registry.host}/charts`, '--plain-http'], { env: isolatedHelmEnv() });
      assert.equal(pushed.code, 0, pushed.stderr);
      const login = await runProcess(helm4, ['registry', 'login', secured.host, '--username', secured.username!, '--password-stdin', '--plain-http'], { env: isolatedHelmEnv(), input: secured.password });
      assert.equal(login.code, 0, login.stderr);
      const pushed2 = await runProcess(helm4, ['push', join(packages, 'api-0.1.0.tgz'), `oci://${secured.host}/charts`, '--plain-http'], { env: isolatedHelmEnv() });
      assert.equal(pushed2.code, 0, pushed2.stderr);
    });
    after(async () => {
      await registry.stop();
      await secured.stop();
    });

    for (const { major, path } of helmBinaries) {
      it(`helm ${major}: pulls an OCI chart from a loopback registry over plain http`, async () => {
        const dir = await fetcherFor(path).chart({ url: `oci://${registry.host}/charts`, chart: 'api', version: '0.1.0' });
        assert.match(readFileSync(join(dir, 'Chart.yaml'), 'utf8'), /name: api/);
      });

      it(`helm ${major}: logs in with the password on stdin for a private registry`, async () => {
        const { wrapper, log } = argvRecorder(path, 'helm');
        const dir = await fetcherFor(wrapper).chart({ url: `oci://${secured.host}/charts`, chart: 'api', version: '0.1.0', credentials: { username: secured.username!, password: secured.password! } });
        assert.ok(existsSync(join(dir, 'Chart.yaml')));
        const argv = readFileSync(log, 'utf8');
        assert.match(argv, /registry login .*--password-stdin/);
        assert.ok(!argv.includes(secured.password!));
      });
    }
  });

  describe('git', () => {
    let repo: { url: string; first: string; second: string };
    before(async () => {
      repo = await createGitRepo();
    });

    it('checks out a branch tip', async () => {
      const dir = await fetcherFor(helm4).git({ url: repo.url, branch: 'main', version: '' });
      assert.equal(readFileSync(join(dir, 'file.txt'), 'utf8'), 'two\n');
      assert.ok(!existsSync(join(dir, '.git')));
    });

    it('checks out a tag', async () => {
      const dir = await fetcherFor(helm4).git({ url: repo.url, branch: '', version: 'v1' });
      assert.equal(readFileSync(join(dir, 'file.txt'), 'utf8'), 'one\n');
    });

    it('checks out a commit', async () => {
      const dir = await fetcherFor(helm4).git({ url: repo.url, branch: 'main', version: repo.first });
      assert.equal(readFileSync(join(dir, 'file.txt'), 'utf8'), 'one\n');
    });

    it('reuses a pinned commit from the cache without contacting the remote', async () => {
      const cache = tempDir('bg-cache-');
      await fetcherFor(helm4, cache).git({ url: repo.url, branch: '', version: repo.first });
      const second = fetcherFor(helm4, cache);
      await second.git({ url: repo.url, branch: '', version: repo.first });
      assert.deepEqual(second.counts, { gitClones: 0, gitBranchLookups: 0, chartPulls: 0, httpDownloads: 0 });
    });

    it('reuses an unchanged branch after one ls-remote', async () => {
      const cache = tempDir('bg-cache-');
      await fetcherFor(helm4, cache).git({ url: repo.url, branch: 'main', version: '' });
      const second = fetcherFor(helm4, cache);
      await second.git({ url: repo.url, branch: 'main', version: '' });
      assert.equal(second.counts.gitClones, 0);
      assert.equal(second.counts.gitBranchLookups, 1);
    });

    it('fetches the same source once per run when asked concurrently', async () => {
      const fetcher = fetcherFor(helm4);
      const dirs = await Promise.all([1, 2, 3].map(() => fetcher.git({ url: repo.url, branch: 'main', version: '' })));
      assert.equal(new Set(dirs).size, 1);
      assert.equal(fetcher.counts.gitClones, 1);
    });

    it('sends the token as a header, never in argv or the URL', async () => {
      const server: GitServer = await startGitServer();
      try {
        const url = await server.createRepo('private', { files: { 'a.yaml': 'kind: A\n' } });
        const { wrapper, log } = argvRecorder('/usr/bin/git', 'git');
        const fetcher = new SourceFetcher({
          cache: new ContentCache(tempDir('bg-cache-')),
          helm: () => Promise.reject(new Error('no helm needed')),
          env: { PATH: `${dirname(wrapper)}:${process.env.PATH}` },
          logger: new MemoryLogger(),
        });
        const dir = await fetcher.git({ url, branch: 'main', version: '', token: server.token });
        assert.equal(readFileSync(join(dir, 'a.yaml'), 'utf8'), 'kind: A\n');
        const argv = readFileSync(log, 'utf8');
        assert.match(argv, /--config-env=http.extraheader=/);
        assert.ok(!argv.includes(server.token) && !argv.includes(Buffer.from(`:${server.token}`).toString('base64')));
        await assert.rejects(fetcherFor(helm4).git({ url, branch: 'main', version: '' }), (error: Error) => {
          assert.ok(!error.message.includes(server.token));
          return true;
        });
      } finally {
        await server.stop();
      }
    });
  });

  describe('git chart dependencies', () => {
    // A chart from git names where helm takes its dependencies from: a folder of this machine
    // outside the fetched tree is refused however the file spells it, before helm runs.
    const outsideChart = () => writeTreeOf(tempDir('bg-outside-chart-'), { 'Chart.yaml': 'apiVersion: v2\nname: victim\nversion: 0.1.0\n' });
    const chartYaml = (dependency: string) => `apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - ${dependency}\n`;
    const cases: Array<{ name: string; files: (outside: string) => Record<string, string>; refusal: RegExp }> = [
      { name: 'file:// to a folder outside the tree, under `Repository:`', files: (outside) => ({ 'app/Chart.yaml': chartYaml(`name: victim\n    version: 0.1.0\n    Repository: file://${outside}`) }),
        refusal: /app\/Chart\.yaml.*dependencies\[0\]\.repository.*file:\/\/ dependency folder .* resolves outside the files fetched from/ },
      { name: 'file:// brought in by a << merge key', files: (outside) => ({ 'app/Chart.yaml': chartYaml(`name: victim\n    version: 0.1.0\n    <<: {repository: "file://${outside}"}`) }),
        refusal: /resolves outside the files fetched from/ },
      { name: 'file:// with .. out of the tree', files: () => ({ 'app/Chart.yaml': chartYaml('name: victim\n    version: 0.1.0\n    repository: file://../../../../../../../../../../tmp') }),
        refusal: /resolves outside the files fetched from/ },
      { name: 'file:// in Chart.lock only', files: (outside) => ({
        'app/Chart.yaml': chartYaml('name: victim\n    version: 0.1.0\n    repository: https://127.0.0.1:9/charts'),
        'app/Chart.lock': `dependencies:\n- name: victim\n  repository: file://${outside}\n  version: 0.1.0\ndigest: sha256:0\ngenerated: "2026-01-01T00:00:00Z"\n` }),
        refusal: /app\/Chart\.lock.*dependencies\[0\]\.repository.*resolves outside/ },
      { name: 'a repository alias', files: () => ({ 'app/Chart.yaml': chartYaml('name: victim\n    version: 0.1.0\n    repository: "@stable"') }),
        refusal: /dependency repository "@stable" is refused: only https:\/\/, http:\/\/, oci:\/\/ and file:\/\/ folders inside/ },
    ];
    for (const { name, files, refusal } of cases) {
      it(`refuses ${name}`, async () => {
        const source = await bareRepo(files(outsideChart()));
        await assert.rejects(fetcherFor(helm4).gitChart({ url: source.url, branch: 'main', version: '', path: 'app' }), (error: GitopsError) => {
          assert.match(error.describe(), refusal);
          return true;
        });
      });
    }
  });

  describe('git working folder', () => {
    it('an accepted local source written as a relative path is still read relative to the process\'s working folder', async () => {
      const repository = fileURLToPath((await bareRepo({ 'a.yaml': 'kind: A\n' })).url);
      const before = process.cwd();
      process.chdir(dirname(repository));
      try {
        const dir = await fetcherFor(helm4).git({ url: basename(repository), branch: 'main', version: '' });
        assert.equal(readFileSync(join(dir, 'a.yaml'), 'utf8'), 'kind: A\n');
      } finally {
        process.chdir(before);
      }
    });
  });

  describe('http static file', () => {
    it('downloads once and revalidates with the ETag on the next run', async () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'ns.yaml'), 'kind: Namespace\n');
      const server = await serveDirectory(dir);
      try {
        const cache = tempDir('bg-cache-');
        const first = fetcherFor(helm4, cache);
        assert.equal(readFileSync(await first.httpFile(`${server.url}/ns.yaml`), 'utf8'), 'kind: Namespace\n');
        const second = fetcherFor(helm4, cache);
        assert.equal(readFileSync(await second.httpFile(`${server.url}/ns.yaml`), 'utf8'), 'kind: Namespace\n');
        assert.equal(first.counts.httpDownloads, 1);
        assert.equal(second.counts.httpDownloads, 0);
      } finally {
        await server.stop();
      }
    });

    it('refuses plain http to a non-loopback host', async () => {
      await assert.rejects(fetcherFor(helm4).httpFile('http://example.com/x.yaml'), /must use https/);
    });
  });
});
