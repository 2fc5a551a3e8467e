import { strict as assert } from 'node:assert';
import { chmodSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitopsError } from '../../../tasks/core/errors';
import { MemoryLogger } from '../../../tasks/core/logger';
import { generate, GenerateOptions, RenderedTree } from '../../../tasks/core/render/generate';
import { buildChartRepository, createChart, FileServer, serveDirectory } from '../../support/chartRepo';
import { bareRepo, writeTree } from '../../support/hldFixtures';
import { helmBinaries, helm4 } from '../../support/tools';
import { tempDir } from '../../support/tmp';

const clusterRoleTemplate = 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {{ .Release.Name }}-reader\nrules: []\n';

/** A chart made by `helm create`, plus a cluster-scoped template. */
async function webChart(helm: string): Promise<string> {
  return createChart(helm, 'web', (dir) => writeFileSync(join(dir, 'templates', 'clusterrole.yaml'), clusterRoleTemplate));
}

/** Root (component) → static `base`, local helm `web`, nested local component `infra` (static `infra-manifests`). */
async function localHld(helm: string): Promise<string> {
  const root = tempDir('bg-hld-');
  cpSync(await webChart(helm), join(root, 'charts', 'web'), { recursive: true });
  writeTree(root, {
    'component.yaml': [
      'name: demo',
      'subcomponents:',
      '  - name: base',
      '    type: static',
      '    path: ./manifests',
      '  - name: web',
      '    type: helm',
      '    method: local',
      '    path: ./charts/web',
      '  - name: infra',
      '    source: ./infra',
      '',
    ].join('\n'),
    'manifests/b-config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b',
    'manifests/a-namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n',
    'config/common.yaml': 'subcomponents:\n  web:\n    namespace: web\n    injectNamespace: true\n    config:\n      replicaCount: 1\n',
    'config/prod.yaml': 'subcomponents:\n  web:\n    config:\n      replicaCount: 3\n',
    'config/staging.yaml': 'subcomponents:\n  infra:\n    disabled: true\n',
    'infra/component.yaml': 'name: infra\nsubcomponents:\n  - name: infra-manifests\n    type: static\n    path: ./manifests\n',
    'infra/manifests/svc.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: infra\n',
  });
  return root;
}

function run(options: Partial<GenerateOptions> & { hldDir: string; helmPath: string }): Promise<RenderedTree> {
  return generate({ environmentSets: [[]], outputDir: join(options.hldDir, 'generated'), env: { PATH: process.env.PATH }, logger: new MemoryLogger(), allowLocalGitSources: true, ...options });
}

function fileOf(tree: RenderedTree, set: string, path: string): string {
  const file = tree.environmentSets.find((s) => s.name === set)?.files.find((f) => f.path === path);
  assert.ok(file, `${set}/${path} was not rendered`);
  return file.content;
}

describe('render generate', () => {
  for (const { major, path: helmPath } of helmBinaries) {
    describe(`with helm ${major}`, () => {
      let hld: string;
      let tree: RenderedTree;
      before(async () => {
        hld = await localHld(helmPath);
        tree = await run({ hldDir: hld, helmPath, environmentSets: [['prod'], []] });
      });

      it('writes Fabrikate\'s layout: <set>/<logical path>/<name>.yaml', () => {
        assert.deepEqual(tree.environmentSets.map((s) => s.name), ['prod', 'common']);
        assert.deepEqual(tree.environmentSets[0].files.map((f) => f.path), ['base.yaml', 'demo.yaml', 'infra/infra-manifests.yaml', 'infra/infra.yaml', 'web.yaml']);
        for (const file of tree.environmentSets[0].files) {
          assert.equal(readFileSync(join(hld, 'generated', 'prod', file.path), 'utf8'), file.content);
        }
      });

      it('renders a component container as an empty file', () => {
        assert.equal(fileOf(tree, 'prod', 'demo.yaml'), '');
        assert.equal(fileOf(tree, 'prod', 'infra/infra.yaml'), '');
      });

      it('joins static files in name order as ---\\n<content>\\n, byte for byte', () => {
        assert.equal(
          fileOf(tree, 'prod', 'base.yaml'),
          '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n',
        );
      });

      it('layers the environment over common for helm values', () => {
        assert.match(fileOf(tree, 'prod', 'web.yaml'), /replicas: 3/);
        assert.match(fileOf(tree, 'common', 'web.yaml'), /replicas: 1/);
      });

      it('injects the namespace into namespaced kinds only', () => {
        const docs = fileOf(tree, 'prod', 'web.yaml').split('---\n').filter(Boolean);
        const deployment = docs.find((d) => /\nkind: Deployment\n/.test(d))!;
        const clusterRole = docs.find((d) => /\nkind: ClusterRole\n/.test(d))!;
        assert.match(deployment, /\nmetadata:\n  namespace: web\n  name: web\n/);
        assert.doesNotMatch(clusterRole, /namespace:/);
      });

      it('every document starts with --- and no empty document is kept', () => {
        const web = fileOf(tree, 'prod', 'web.yaml');
        assert.ok(web.startsWith('---\n# Source: web/templates/'));
        assert.doesNotMatch(web, /---\n---/);
      });
    });
  }

  it('matches Fabrikate for a static root with an inlined chart (its generate-yaml shape)', async () => {
    const hld = tempDir('bg-hld-');
    cpSync(await webChart(helm4), join(hld, 'charts', 'web'), { recursive: true });
    const grafana = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: grafana';
    const prometheus = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prometheus';
    writeTree(hld, {
      'component.yaml': 'name: "stack"\ngenerator: "static"\npath: "./manifests"\nsubcomponents:\n- name: "web"\n  type: "helm"\n  method: "local"\n  path: "./charts/web"\n',
      'manifests/grafana-namespace.yaml': grafana,
      'manifests/prometheus-namespace.yaml': prometheus,
      'config/prod.yaml': 'subcomponents:\n  web:\n    namespace: "web"\n',
    });
    const tree = await run({ hldDir: hld, helmPath: helm4, environmentSets: [['prod']] });
    assert.deepEqual(tree.environmentSets[0].files.map((f) => f.path), ['stack.yaml', 'web.yaml']);
    // Fabrikate's own test expects 125 bytes for its two files of 56 and 59 bytes: 10 bytes of separators.
    assert.equal(fileOf(tree, 'prod', 'stack.yaml').length, grafana.length + prometheus.length + 10);
    assert.ok(existsSync(join(hld, 'generated', 'prod', 'web.yaml')));
  });

  it('skips a disabled component and everything below it', async () => {
    const hld = await localHld(helm4);
    const tree = await run({ hldDir: hld, helmPath: helm4, environmentSets: [['staging']] });
    assert.deepEqual(tree.environmentSets[0].files.map((f) => f.path), ['base.yaml', 'demo.yaml', 'web.yaml']);
    assert.ok(!existsSync(join(hld, 'generated', 'staging', 'infra')));
  });

  it('gives byte-identical output for two runs of the same input', async () => {
    const hld = await localHld(helm4);
    const first = await run({ hldDir: hld, helmPath: helm4, environmentSets: [['prod']] });
    const second = await run({ hldDir: hld, helmPath: helm4, environmentSets: [['prod']] });
    assert.deepEqual(second.environmentSets, first.environmentSets);
  });

  it('renders nothing again on a second run with the same cache', async () => {
    const hld = await localHld(helm4);
    const cacheDir = tempDir('bg-cache-');
    const first = await run({ hldDir: hld, helmPath: helm4, cacheDir, environmentSets: [['prod']] });
    const second = await run({ hldDir: hld, helmPath: helm4, cacheDir, environmentSets: [['prod']] });
    assert.equal(first.stats.helmTemplates, 1);
    assert.equal(second.stats.helmTemplates, 0);
    assert.equal(second.stats.renderCacheHits, 1);
    assert.deepEqual(second.environmentSets, first.environmentSets);
  });

  it('renders identical values once across environment sets', async () => {
    const hld = await localHld(helm4);
    const tree = await run({ hldDir: hld, helmPath: helm4, environmentSets: [['staging'], []] });
    assert.equal(tree.stats.helmTemplates, 1);
    assert.equal(tree.stats.sharedRenders, 1);
  });

  it('runs hooks in lifecycle order in the component folder', async () => {
    const hld = tempDir('bg-hld-');
    writeTree(hld, {
      'component.yaml': [
        'name: hooked',
        'type: static',
        'path: ./manifests',
        'hooks:',
        '  before-install: ["echo before-install >> hooks.log"]',
        '  after-install: ["echo after-install >> hooks.log"]',
        '  before-generate: ["echo before-generate >> hooks.log", "cp hooks.log manifests/x.yaml"]',
        '  after-generate: ["echo after-generate >> hooks.log"]',
        '',
      ].join('\n'),
      'manifests/.keep': '',
    });
    const tree = await run({ hldDir: hld, helmPath: helm4 });
    assert.equal(readFileSync(join(hld, 'hooks.log'), 'utf8'), 'before-install\nafter-install\nbefore-generate\nafter-generate\n');
    assert.match(fileOf(tree, 'common', 'hooked.yaml'), /---\nbefore-install\nafter-install\nbefore-generate\n\n/);
  });

  it('stops at the first failing hook, naming the component and the hook', async () => {
    const hld = writeTree(tempDir('bg-hld-'), {
      'component.yaml': 'name: broken\nhooks:\n  before-generate: ["exit 3", "touch never"]\n',
    });
    await assert.rejects(run({ hldDir: hld, helmPath: helm4 }), (error: GitopsError) => {
      assert.match(error.describe(), /component\.yaml(:\d+)?: hooks\.before-generate: component "broken": hook command "exit 3" exited with 3/);
      return true;
    });
    assert.ok(!existsSync(join(hld, 'never')));
    assert.ok(!existsSync(join(hld, 'generated')));
  });

  it('names the component file and field when a chart is missing', async () => {
    const hld = writeTree(tempDir('bg-hld-'), {
      'component.yaml': 'name: root\nsubcomponents:\n  - name: ghost\n    type: helm\n    path: ./charts/ghost\n',
    });
    await assert.rejects(run({ hldDir: hld, helmPath: helm4 }), (error: GitopsError) => {
      assert.match(error.describe(), /^component\.yaml.*subcomponents\[0\]\.path: component "ghost": no helm chart/);
      return true;
    });
  });

  it('keeps at most `concurrency` helm processes running', async () => {
    const hld = tempDir('bg-hld-');
    const chart = await webChart(helm4);
    const names = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
    cpSync(chart, join(hld, 'charts', 'web'), { recursive: true });
    writeTree(hld, {
      'component.yaml': `name: many\nsubcomponents:\n${names.map((n) => `  - name: ${n}\n    type: helm\n    path: ./charts/web\n`).join('')}`,
    });
    const log = join(tempDir(), 'helm.log');
    const wrapper = join(tempDir(), 'helm');
    // A real helm behind a script that records when each template run starts and ends.
    writeFileSync(wrapper, `#!/bin/sh\nif [ "$1" = template ]; then echo start >> ${log}; "${helm4}" "$@"; code=$?; echo end >> ${log}; exit $code; fi\nexec "${helm4}" "$@"\n`);
    chmodSync(wrapper, 0o755);
    await run({ hldDir: hld, helmPath: wrapper, concurrency: 2 });
    let running = 0;
    let peak = 0;
    for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
      running += line === 'start' ? 1 : -1;
      peak = Math.max(peak, running);
    }
    assert.equal(peak, 2);
  });

  describe('remote sources', () => {
    let charts: FileServer;
    let files: FileServer;
    before(async () => {
      const repo = await buildChartRepository(helm4, [await webChart(helm4)]);
      charts = await serveDirectory(repo, { auth: { username: 'ci', password: 'chart-pass-9' } });
      files = await serveDirectory(writeTree(tempDir(), { 'ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: remote\n' }));
    });
    after(async () => {
      await charts.stop();
      await files.stop();
    });

    for (const { major, path: helmPath } of helmBinaries) {
    it(`helm ${major}: installs a repository chart into helm_repos/<name> with credentials from access.yaml`, async () => {
      const hld = writeTree(tempDir('bg-hld-'), {
        'component.yaml': `name: root\nsubcomponents:\n  - name: site\n    type: helm\n    method: helm\n    source: ${charts.url}\n    path: web\n    version: 0.1.0\n`,
        'access.yaml': `${charts.url}: CHART_REPO_AUTH\n`,
      });
      const tree = await run({ hldDir: hld, helmPath, env: { PATH: process.env.PATH, CHART_REPO_AUTH: 'ci:chart-pass-9' } });
      assert.ok(existsSync(join(hld, 'helm_repos', 'site', 'Chart.yaml')));
      assert.match(fileOf(tree, 'common', 'site.yaml'), /name: site-web/);
    });

    }

    it('downloads an http static into components/<name>/<name>.yaml', async () => {
      const hld = writeTree(tempDir('bg-hld-'), {
        'component.yaml': `name: root\nsubcomponents:\n  - name: remote\n    type: static\n    method: http\n    source: ${files.url}/ns.yaml\n`,
      });
      const tree = await run({ hldDir: hld, helmPath: helm4 });
      assert.ok(existsSync(join(hld, 'components', 'remote', 'remote.yaml')));
      assert.equal(fileOf(tree, 'common', 'remote.yaml'), '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: remote\n\n');
    });

    describe('git component', () => {
      let source: { url: string; commit: string };
      before(async () => {
        source = await bareRepo(
          {
            'component.yaml': 'name: shared\nsubcomponents:\n  - name: shared-manifests\n    type: static\n    path: ./manifests\n',
            'manifests/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n',
          },
          'v1.0.0',
        );
      });

      for (const [label, field] of [['branch', 'branch: main'], ['tag', 'version: v1.0.0'], ['commit', 'version: COMMIT']] as const) {
        it(`clones by ${label} into components/<name>`, async () => {
          const hld = writeTree(tempDir('bg-hld-'), {
            'component.yaml': `name: root\nsubcomponents:\n  - name: shared\n    method: git\n    source: ${source.url}\n    ${field.replace('COMMIT', source.commit)}\n`,
          });
          const tree = await run({ hldDir: hld, helmPath: helm4 });
          assert.ok(existsSync(join(hld, 'components', 'shared', 'component.yaml')));
          assert.match(fileOf(tree, 'common', 'shared/shared-manifests.yaml'), /name: shared/);
        });
      }

      it('clones nothing on a second run with the same cache', async () => {
        const cacheDir = tempDir('bg-cache-');
        const component = `name: root\nsubcomponents:\n  - name: shared\n    method: git\n    source: ${source.url}\n    branch: main\n`;
        const first = await run({ hldDir: writeTree(tempDir('bg-hld-'), { 'component.yaml': component }), helmPath: helm4, cacheDir });
        const second = await run({ hldDir: writeTree(tempDir('bg-hld-'), { 'component.yaml': component }), helmPath: helm4, cacheDir });
        assert.equal(first.stats.fetches.gitClones, 1);
        assert.equal(second.stats.fetches.gitClones, 0);
        assert.equal(second.stats.fetches.gitBranchLookups, 1);
      });

      it('uses an already present components/<name> as it is', async () => {
        const hld = writeTree(tempDir('bg-hld-'), {
          'component.yaml': `name: root\nsubcomponents:\n  - name: shared\n    method: git\n    source: file:///nonexistent/repo.git\n`,
          'components/shared/component.yaml': 'name: shared\n',
        });
        const tree = await run({ hldDir: hld, helmPath: helm4 });
        assert.equal(tree.stats.fetches.gitClones, 0);
        assert.equal(fileOf(tree, 'common', 'shared/shared.yaml'), '');
      });
    });

    for (const { major, path: helmPath } of helmBinaries) {
    it(`helm ${major}: renders a chart from git after fetching its dependencies`, async () => {
      const app = await createChart(helm4, 'app');
      const lib = await createChart(helm4, 'sub');
      const chartYaml = readFileSync(join(app, 'Chart.yaml'), 'utf8') + 'dependencies:\n  - name: sub\n    version: 0.1.0\n    repository: file://../sub\n';
      const filesOf = (dir: string, prefix: string): Record<string, string> => {
        const out: Record<string, string> = {};
        const walk = (d: string, p: string): void => {
          for (const entry of require('node:fs').readdirSync(d, { withFileTypes: true })) {
            if (entry.isDirectory()) walk(join(d, entry.name), `${p}/${entry.name}`);
            else out[`${p}/${entry.name}`] = readFileSync(join(d, entry.name), 'utf8');
          }
        };
        walk(dir, prefix);
        return out;
      };
      const repo = await bareRepo({ ...filesOf(app, 'charts/app'), ...filesOf(lib, 'charts/sub'), 'charts/app/Chart.yaml': chartYaml });
      const hld = writeTree(tempDir('bg-hld-'), {
        'component.yaml': `name: root\nsubcomponents:\n  - name: gitapp\n    type: helm\n    method: git\n    source: ${repo.url}\n    path: charts/app\n    branch: main\n`,
      });
      const tree = await run({ hldDir: hld, helmPath });
      const out = fileOf(tree, 'common', 'gitapp.yaml');
      assert.match(out, /# Source: app\/charts\/sub\/templates\/service\.yaml/);
      assert.ok(existsSync(join(hld, 'helm_repos', 'gitapp', 'charts', 'app', 'Chart.yaml')));
    });
    }
  });
});
