/**
 * Differential corpus against Fabrikate (github.com/microsoft/fabrikate, v0.17.3 and
 * v1.0.0-alpha.1) and the go-yaml v2 fork it parsed with (github.com/timfpark/yaml).
 *
 * Each case is an HLD written here (Fabrikate's own fixtures are not copied) and the output
 * Fabrikate's code gives for it, derived by reading that code; the comment on each case names
 * the Go function (and the Fabrikate test whose shape it follows). Helm charts are a tiny "echo"
 * chart whose ConfigMap holds `toJson .Values`, so a test sees exactly what helm received.
 * Everything is offline: charts come from a loopback chart repository, git components from
 * file:// repositories. Every rendering case runs with helm 3 and helm 4.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { GitopsError } from '../../tasks/core/errors';
import { MemoryLogger } from '../../tasks/core/logger';
import { setValues, parseAssignment } from '../../tasks/core/hld/set';
import { generate, RenderedTree } from '../../tasks/core/render/generate';
import { install } from '../../tasks/core/render/installTree';
import { runProcess } from '../../tasks/core/exec';
import { buildChartRepository, FileServer, isolatedHelmEnv, serveDirectory } from '../support/chartRepo';
import { bareRepo, writeTree } from '../support/hldFixtures';
import { helmBinaries, helm4 } from '../support/tools';
import { tempDir } from '../support/tmp';

/** Files of a chart named `name` that echoes its values and namespace. */
function echoChart(name: string, prefix = `charts/${name}`): Record<string, string> {
  return {
    [`${prefix}/Chart.yaml`]: `apiVersion: v2\nname: ${name}\nversion: 0.1.0\n`,
    [`${prefix}/values.yaml`]: 'defaults:\n  keep: chart-default\n  drop: chart-default\n',
    [`${prefix}/templates/values.yaml`]: [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ .Release.Name }}',
      '  namespace: {{ .Release.Namespace }}',
      'data:',
      '  values: {{ toJson .Values | quote }}',
      '',
    ].join('\n'),
  };
}

function hld(files: Record<string, string>): string {
  return writeTree(tempDir('bg-fab-'), files);
}

async function render(dir: string, helmPath: string, environments: string[], logger = new MemoryLogger()): Promise<RenderedTree> {
  return generate({ hldDir: dir, helmPath, environmentSets: [environments], outputDir: join(dir, 'generated'), env: { PATH: process.env.PATH }, allowLocalGitSources: true, logger });
}

/** path -> content of the one rendered environment set. */
function filesOf(tree: RenderedTree): Record<string, string> {
  return Object.fromEntries(tree.environmentSets[0].files.map((file) => [file.path, file.content]));
}

/** The values helm received, from the echo chart's ConfigMap in `content`. */
function valuesIn(content: string): { namespace: string; values: Record<string, unknown> } {
  const maps = parseAllDocuments(content).map((doc) => doc.toJS()).filter((doc) => doc?.kind === 'ConfigMap');
  assert.equal(maps.length, 1, `expected one echo ConfigMap in:\n${content}`);
  return { namespace: maps[0].metadata.namespace, values: JSON.parse(maps[0].data.values) };
}

const chartDefaults = { keep: 'chart-default', drop: 'chart-default' };

describe('Fabrikate differential corpus', function () {
  this.timeout(240000);

  for (const { major, path: helm } of helmBinaries) {
    describe(`with helm ${major}`, () => {
      // --- Fabrikate's own tests, re-derived ------------------------------------------------

      it('walks root -> local -> git components with their logical paths (component.go WalkComponentTree; TestIteratingDefinition)', async () => {
        const efk = await bareRepo({
          'component.yaml': 'name: efk\nsubcomponents:\n  - name: efk-manifests\n    type: static\n    path: ./manifests\n',
          'manifests/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: efk\n',
        });
        const dir = hld({
          'component.json': JSON.stringify({ name: 'microservices-workload', version: '1.0.0', subcomponents: [{ name: 'infra', source: './infra' }] }),
          'infra/component.json': JSON.stringify({ name: 'infra', version: '1.0.0', subcomponents: [{ name: 'efk', method: 'git', source: efk.url }] }),
        });
        const files = filesOf(await render(dir, helm, []));
        // Fabrikate: 3 components at ./, infra, infra/efk (+ efk's inlined static at infra/efk).
        assert.deepEqual(Object.keys(files), ['infra/efk/efk-manifests.yaml', 'infra/efk/efk.yaml', 'infra/infra.yaml', 'microservices-workload.yaml']);
        assert.equal(files['infra/infra.yaml'], '');
        assert.equal(files['infra/efk/efk-manifests.yaml'], '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: efk\n\n');
        assert.ok(existsSync(join(dir, 'infra', 'components', 'efk', 'component.yaml')), 'cloned into <parent>/components/<name>');
      });

      it('replaces a root with method git by the cloned component; the root folder\'s config wins (component.go UpdateComponentPath; TestUpdateRootComponentPath)', async () => {
        const repo = await bareRepo({
          'definitions/infra/component.yaml': 'name: infra-cloned\nsubcomponents:\n  - name: a\n    type: helm\n    path: ./chart\n  - name: b\n    type: helm\n    path: ./chart\n',
          'definitions/infra/config/common.yaml': 'subcomponents:\n  a:\n    namespace: from-clone\n    config: {x: clone}\n  b:\n    namespace: clone-b\n',
          ...echoChart('echo', 'definitions/infra/chart'),
        });
        const dir = hld({
          'component.json': JSON.stringify({ name: 'infra-single', type: 'component', method: 'git', source: repo.url, path: 'definitions/infra' }),
          'config/common.yaml': 'subcomponents:\n  a:\n    namespace: from-root\n    config: {y: root}\n',
        });
        const files = filesOf(await render(dir, helm, []));
        // LoadComponent on components/infra-single/definitions/infra; its name names the root file.
        assert.deepEqual(Object.keys(files), ['a.yaml', 'b.yaml', 'infra-cloned.yaml']);
        assert.deepEqual(valuesIn(files['a.yaml']), { namespace: 'from-root', values: { defaults: chartDefaults, x: 'clone', y: 'root' } });
        assert.equal(valuesIn(files['b.yaml']).namespace, 'clone-b');
      });

      it('merges config layers as conjungo did: higher wins, lower fills, lists append, a number beats a string (config.go Merge; TestMerge)', async () => {
        const dir = hld({
          'component.yaml': 'name: root\nsubcomponents:\n  - name: jaeger\n    type: helm\n    path: ./charts/echo\n',
          'config/current.yaml': [
            'subcomponents:', '  jaeger:', '    config:', '      provisionDataStore:', '        elasticsearch: false', '        mixed: 1',
            '        slice:', '          - "astring"', '          - 1', '          - 1.0', '          - foo: 1', '            bar: ["bstring", 1]', '',
          ].join('\n'),
          'config/common.yaml': 'subcomponents:\n  jaeger:\n    config:\n      provisionDataStore:\n        cassandra: false\n        elasticsearch: true\n        mixed: "2"\n        slice: [last]\n',
          ...echoChart('echo'),
        });
        const { values } = valuesIn(filesOf(await render(dir, helm, ['current']))['jaeger.yaml']);
        assert.deepEqual(values.provisionDataStore, {
          cassandra: false, elasticsearch: false, mixed: 1, slice: ['astring', 1, 1, { foo: 1, bar: ['bstring', 1] }, 'last'],
        });
      });

      it('reads namespace and config of a config file (config.go Load; TestLoad)', async () => {
        const dir = hld({
          'component.yaml': 'name: myapp\ntype: helm\npath: ./charts/echo\n',
          'config/test.yaml': 'namespace: myapp\nconfig:\n  foo: bar\n',
          ...echoChart('echo'),
        });
        assert.deepEqual(valuesIn(filesOf(await render(dir, helm, ['test']))['myapp.yaml']), { namespace: 'myapp', values: { defaults: chartDefaults, foo: 'bar' } });
      });

      it('skips disabled subcomponents without fetching them (WalkComponentTree Disabled, v1.0.0-alpha.1; TestGenerate "disabled subcomponent")', async () => {
        const dir = hld({
          'component.yaml': [
            'name: disabled-stack', 'type: component', 'subcomponents:',
            ' - name: pod-info', '   type: helm', '   path: ./charts/echo',
            ' - name: mysql', '   type: helm', '   method: git', '   source: file:///nonexistent/charts.git', '   path: stable/mysql',
            ' - name: bookinfo # wrapped in a component', '   source: https://127.0.0.1:9/never.git', '   method: git', '',
          ].join('\n'),
          'config/disabled.yaml': 'subcomponents:\n  pod-info:\n    disabled: true\n    config:\n      env: local\n  mysql:\n    disabled: yes\n  bookinfo:\n    disabled: true\n',
          ...echoChart('echo'),
        });
        assert.deepEqual(filesOf(await render(dir, helm, ['disabled'])), { 'disabled-stack.yaml': '' });
      });

      // --- Our own HLDs combining features ---------------------------------------------------

      it('renders and installs the children of helm components, with config through nested entries (WalkComponentTree; testdata/install-helm shape)', async () => {
        const repo = await buildChartRepository(helm4, ['prometheus', 'grafana', 'strimzi-kafka-operator'].map((name) => join(hld(echoChart(name)), 'charts', name)));
        const server: FileServer = await serveDirectory(repo);
        try {
          const dir = hld({
            'component.yaml': [
              'name: prometheus', 'type: helm', 'method: helm', `source: ${server.url}`, 'path: prometheus', 'subcomponents:',
              '  - name: grafana', '    type: helm', '    method: helm', `    source: ${server.url}`, '    path: grafana', '    version: 0.1.0', '    subcomponents:',
              '      - name: strimzi-kafka-operator', '        type: helm', '        method: helm', `        source: ${server.url}`, '        path: strimzi-kafka-operator',
              '      - name: strimzi-kafka-operator2', '        type: helm', '        method: helm', `        source: ${server.url}`, '        path: strimzi-kafka-operator', '',
            ].join('\n'),
            'config/common.yaml': 'config:\n  level: root\nsubcomponents:\n  grafana:\n    subcomponents:\n      strimzi-kafka-operator2:\n        namespace: kafka\n        config:\n          level: grandchild\n',
          });
          await install({ hldDir: dir, helmPath: helm, env: { PATH: process.env.PATH }, allowLocalGitSources: true, logger: new MemoryLogger() });
          for (const name of ['prometheus', 'grafana', 'strimzi-kafka-operator', 'strimzi-kafka-operator2']) {
            assert.ok(existsSync(join(dir, 'helm_repos', name, 'Chart.yaml')), `install fetched ${name}`);
          }
          const files = filesOf(await render(dir, helm, []));
          assert.deepEqual(Object.keys(files), ['grafana.yaml', 'prometheus.yaml', 'strimzi-kafka-operator.yaml', 'strimzi-kafka-operator2.yaml']);
          assert.deepEqual(valuesIn(files['prometheus.yaml']).values, { defaults: chartDefaults, level: 'root' });
          assert.deepEqual(valuesIn(files['strimzi-kafka-operator2.yaml']), { namespace: 'kafka', values: { defaults: chartDefaults, level: 'grandchild' } });
          assert.deepEqual(valuesIn(files['strimzi-kafka-operator.yaml']).values, { defaults: chartDefaults });
        } finally {
          await server.stop();
        }
      });

      it('hands helm every YAML 1.1 scalar with the type the go-yaml fork gave it (resolve.go resolve, decode.go merge)', async () => {
        const dir = hld({
          'component.yaml': 'name: web\ntype: helm\npath: ./charts/echo\n',
          'config/common.yaml': [
            'config:',
            '  mode: 0644', '  bin: 0b101', '  oct: 0o17', '  hex: 0x1F', '  big: 1_000', '  eight: 08',
            '  flags: [yes, no, on, off, y, n, Yes, NO, true]',
            '  e3: 1e3', '  sha: 5640e21', '  signed: 1e+3', '  half: .5', '  dot: 1.', '  unsignedExp: 1.5e3',
            '  quoted: "0644"', '  clock: 1:20', '  date: 2001-12-14',
            '  yes: a key', '  1: number key',
            '  base: &base {a: 1, b: 2}', '  merged:', '    b: 9', '    <<: *base', '    c: 3',
            '',
          ].join('\n'),
          ...echoChart('echo'),
        });
        const { values } = valuesIn(filesOf(await render(dir, helm, []))['web.yaml']);
        assert.deepEqual(values, {
          defaults: chartDefaults,
          mode: 420, bin: 5, oct: 15, hex: 31, big: 1000, eight: 8,
          flags: [true, false, true, false, true, false, true, false, true],
          e3: '1e3', sha: '5640e21', signed: 1000, half: 0.5, dot: '1.', unsignedExp: '1.5e3',
          quoted: '0644', clock: '1:20', date: '2001-12-14',
          yes: 'a key', 1: 'number key',
          // decode.go merge: the merge overwrites keys set before it; later keys overwrite it.
          base: { a: 1, b: 2 }, merged: { a: 1, b: 2, c: 3 },
        });
      });

      it('keeps a short git SHA that fab set wrote unquoted a string through set and generate', async () => {
        const dir = hld({
          'component.yaml': 'name: root\nsubcomponents:\n  - name: web\n    type: helm\n    path: ./charts/echo\n',
          // What `fab set --subcomponent web image.tag=5640e21` wrote (go-yaml marshals it plain).
          'config/prod.yaml': 'subcomponents:\n  web:\n    config:\n      image:\n        tag: 5640e21\n        previous: 1e3\n',
          ...echoChart('echo'),
        });
        await setValues(dir, { environment: 'prod', subcomponent: 'web', values: [parseAssignment('image.tag=1234567')] }, new MemoryLogger());
        await setValues(dir, { environment: 'prod', subcomponent: 'web', values: [parseAssignment('image.next=8e1f00a')] }, new MemoryLogger());
        const { values } = valuesIn(filesOf(await render(dir, helm, ['prod']))['web.yaml']);
        assert.deepEqual(values.image, { tag: '1234567', previous: '1e3', next: '8e1f00a' });
      });

      it('passes a null from a higher layer to helm, removing the chart default; a lower value beats a higher null (conjungo merge isEmpty)', async () => {
        const dir = hld({
          'component.yaml': 'name: root\nsubcomponents:\n  - name: web\n    type: helm\n    path: ./charts/echo\n',
          'config/prod.yaml': 'subcomponents:\n  web:\n    config:\n      defaults:\n        drop: null\n        other: null\n',
          'config/common.yaml': 'subcomponents:\n  web:\n    config:\n      defaults:\n        keep: common\n        other: from-common\n',
          ...echoChart('echo'),
        });
        const { values } = valuesIn(filesOf(await render(dir, helm, ['prod']))['web.yaml']);
        assert.deepEqual(values, { defaults: { keep: 'common', other: 'from-common' } });
      });

      it('names output files after the child\'s own component file, for local and git components (component.go LoadComponent)', async () => {
        const remote = await bareRepo({ 'component.yaml': 'name: remote-impl\nsubcomponents:\n  - name: api\n    type: helm\n    path: ./chart\n', ...echoChart('echo', 'chart') });
        const dir = hld({
          'component.yaml': `name: root\nsubcomponents:\n  - name: svc\n    source: ./svc\n  - name: gitsvc\n    method: git\n    source: ${remote.url}\n`,
          'svc/component.yaml': 'name: service-impl\nsubcomponents:\n  - name: api\n    type: helm\n    path: ./chart\n',
          ...echoChart('echo', 'svc/chart'),
          // The parent's entry uses the name the parent declared.
          'config/common.yaml': 'subcomponents:\n  svc:\n    subcomponents:\n      api:\n        config: {from: parent}\n  gitsvc:\n    subcomponents:\n      api:\n        config: {from: parent-git}\n',
        });
        const files = filesOf(await render(dir, helm, []));
        assert.deepEqual(Object.keys(files), ['gitsvc/api.yaml', 'gitsvc/remote-impl.yaml', 'root.yaml', 'svc/api.yaml', 'svc/service-impl.yaml']);
        assert.equal(valuesIn(files['svc/api.yaml']).values.from, 'parent');
        assert.equal(valuesIn(files['gitsvc/api.yaml']).values.from, 'parent-git');
      });

      it('layers three environments and lets a grandparent\'s entry beat the child\'s own files (LoadComponent + LoadConfig order)', async () => {
        const dir = hld({
          'component.yaml': 'name: root\nsubcomponents:\n  - name: infra\n    source: ./infra\n',
          'config/prod-east.yaml': 'subcomponents:\n  infra:\n    subcomponents:\n      web:\n        config: {a: root-prod-east, list: [1]}\n',
          'config/prod.yaml': 'subcomponents:\n  infra:\n    subcomponents:\n      web:\n        namespace: root-prod\n        config: {a: root-prod, b: root-prod}\n',
          'config/common.yaml': 'subcomponents:\n  infra:\n    subcomponents:\n      web:\n        config: {b: root-common, list: [2]}\n',
          'infra/component.yaml': 'name: infra\nsubcomponents:\n  - name: web\n    type: helm\n    path: ./chart\n',
          'infra/config/prod.yaml': 'subcomponents:\n  web:\n    namespace: infra-prod\n    config: {b: infra-prod, c: infra-prod, list: [3]}\n',
          'infra/config/common.yaml': 'subcomponents:\n  web:\n    config: {d: infra-common}\n',
          ...echoChart('echo', 'infra/chart'),
        });
        const rendered = valuesIn(filesOf(await render(dir, helm, ['prod-east', 'prod']))['infra/web.yaml']);
        assert.deepEqual(rendered, {
          namespace: 'root-prod',
          values: { defaults: chartDefaults, a: 'root-prod-east', b: 'root-prod', c: 'infra-prod', d: 'infra-common', list: [1, 2, 3] },
        });
      });

      it('renders a static under a helm component and a component under a static one', async () => {
        const dir = hld({
          'component.yaml': [
            'name: root', 'subcomponents:',
            '  - name: web', '    type: helm', '    path: ./charts/echo', '    subcomponents:', '      - name: extra', '        type: static', '        path: ./extra',
            '  - name: base', '    type: static', '    path: ./base', '    subcomponents:', '      - name: nested', '        source: ./nested', '',
          ].join('\n'),
          'extra/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n',
          'base/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: base\n',
          'nested/component.yaml': 'name: nested\nsubcomponents:\n  - name: nested-static\n    type: static\n    path: ./m\n',
          'nested/m/sa.yaml': 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: nested\n',
          ...echoChart('echo'),
        });
        const files = filesOf(await render(dir, helm, []));
        assert.deepEqual(Object.keys(files), ['base.yaml', 'extra.yaml', 'nested/nested-static.yaml', 'nested/nested.yaml', 'root.yaml', 'web.yaml']);
        assert.match(files['extra.yaml'], /name: extra/);
        assert.match(files['nested/nested-static.yaml'], /kind: ServiceAccount/);
      });

      it('reads JSON components and configs and empty config files', async () => {
        const dir = hld({
          'component.json': JSON.stringify({ name: 'root', subcomponents: [{ name: 'web', type: 'helm', path: './charts/echo' }, { name: 'child', source: './child' }] }),
          'config/common.json': '{}',
          'config/prod.yaml': '',
          'child/component.json': JSON.stringify({ name: 'child', subcomponents: [{ name: 'api', type: 'helm', path: './chart' }] }),
          ...echoChart('echo', 'child/chart'),
          // encoding/json: a JSON 1e3 is a number (unlike YAML's 1e3 under the fork).
          'child/config/prod.json': '{"subcomponents": {"api": {"config": {"replicas": 2, "tag": "1e3", "scale": 1e3}}}}',
          'child/config/common.yaml': '# nothing here\n',
          ...echoChart('echo'),
        });
        const files = filesOf(await render(dir, helm, ['prod']));
        assert.deepEqual(valuesIn(files['web.yaml']).values, { defaults: chartDefaults });
        assert.deepEqual(valuesIn(files['child/api.yaml']).values, { defaults: chartDefaults, replicas: 2, tag: '1e3', scale: 1000 });
      });

      it('accepts what Fabrikate accepted: duplicate keys, a trailing ---, disabled: yes, a wrapper and its chart with the same name', async () => {
        const dir = hld({
          'component.yaml': 'name: root\nsubcomponents:\n  - name: grafana\n    source: ./grafana\n  - name: off\n    type: helm\n    path: ./charts/echo\n',
          'config/common.yaml': 'subcomponents:\n  off:\n    disabled: yes\n  grafana:\n    config: {}\n---\n',
          'grafana/component.yaml': 'name: grafana\nsubcomponents:\n  - name: grafana\n    type: helm\n    path: ./chart\n',
          ...echoChart('echo', 'grafana/chart'),
          'grafana/config/common.yaml': 'subcomponents:\n  grafana:\n    config:\n      replicas: 1\n      replicas: 2\n',
          ...echoChart('echo'),
        });
        const logger = new MemoryLogger();
        const files = filesOf(await render(dir, helm, [], logger));
        // The wrapper's empty file and the chart's manifests share grafana/grafana.yaml: Fabrikate
        // wrote the parent first and the child over it.
        assert.deepEqual(Object.keys(files), ['grafana/grafana.yaml', 'root.yaml']);
        assert.equal(valuesIn(files['grafana/grafana.yaml']).values.replicas, 2);
        assert.ok(logger.warnings.some((w) => /key "replicas" appears twice in one map; the last one wins, as in Fabrikate/.test(w)), logger.warnings.join('\n'));
      });

      it('renders a git chart whose Chart.lock names an http repository, and one whose dependency is vendored (helm/dependency.go DependencyUpdate)', async () => {
        const sub = { 'Chart.yaml': 'apiVersion: v2\nname: sub\nversion: 0.1.0\n', 'templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-sub\n' };
        const subDir = writeTree(tempDir(), Object.fromEntries(Object.entries(sub).map(([path, text]) => [`sub/${path}`, text])));
        const server = await serveDirectory(await buildChartRepository(helm4, [join(subDir, 'sub')]));
        const appChart = `apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: sub\n    version: 0.1.0\n    repository: ${server.url}\n`;
        // The lock file `helm dependency update` writes for that Chart.yaml.
        const lockDir = writeTree(tempDir(), { 'Chart.yaml': appChart });
        assert.equal((await runProcess(helm4, ['dependency', 'update', lockDir], { cwd: lockDir, env: isolatedHelmEnv() })).code, 0);
        const lock = readFileSync(join(lockDir, 'Chart.lock'), 'utf8');
        try {
          const fetched = await bareRepo({ 'app/Chart.yaml': appChart, 'app/Chart.lock': lock });
          const vendored = await bareRepo({
            'app/Chart.yaml': appChart.replace(server.url, 'https://127.0.0.1:9/unreachable'), 'app/Chart.lock': lock,
            ...Object.fromEntries(Object.entries(sub).map(([path, text]) => [`app/charts/sub/${path}`, text])),
          });
          const dir = hld({
            'component.yaml': [
              'name: root', 'subcomponents:',
              '  - name: fetched', '    type: helm', '    method: git', `    source: ${fetched.url}`, '    path: app',
              '  - name: vendored', '    type: helm', '    method: git', `    source: ${vendored.url}`, '    path: app', '',
            ].join('\n'),
          });
          const files = filesOf(await render(dir, helm, []));
          assert.match(files['fetched.yaml'], /name: from-sub/);
          assert.match(files['vendored.yaml'], /name: from-sub/);
        } finally {
          await server.stop();
        }
      });

      it('renders `generate common` with common merged once and says how that differs from Fabrikate', async () => {
        const dir = hld({
          'component.yaml': 'name: web\ntype: helm\npath: ./charts/echo\n',
          'config/common.yaml': 'config:\n  args: [a, b]\n',
          ...echoChart('echo'),
        });
        const logger = new MemoryLogger();
        const tree = await render(dir, helm, ['common'], logger);
        assert.equal(tree.environmentSets[0].name, 'common');
        assert.deepEqual(valuesIn(filesOf(tree)['web.yaml']).values.args, ['a', 'b']);
        assert.ok(logger.warnings.some((w) => /merged it twice, which repeated the items of every list/.test(w)), logger.warnings.join('\n'));
      });
    });
  }

  it('refuses a config with a second YAML document, saying it is a deliberate difference', async () => {
    const dir = hld({ 'component.yaml': 'name: web\n', 'config/common.yaml': 'config: {a: 1}\n---\nconfig: {a: 2}\n' });
    await assert.rejects(render(dir, helm4, []), (error: GitopsError) => {
      assert.match(error.describe(), /config\/common\.yaml.*holds 2 YAML documents/);
      assert.match(error.hint ?? '', /deliberate difference from Fabrikate, which silently read only the first document/);
      return true;
    });
    assert.ok(!existsSync(join(dir, 'generated')));
  });

  it('reads symlinked manifests of a static folder that stay inside the HLD, and refuses links out of it (static.go read every entry)', async () => {
    const dir = hld({
      'component.yaml': 'name: root\nsubcomponents:\n  - name: base\n    type: static\n    path: ./manifests\n',
      'manifests/a.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n',
      'library/b.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n',
    });
    symlinkSync('../library/b.yaml', join(dir, 'manifests', 'b.yaml'));
    const files = filesOf(await render(dir, helm4, []));
    assert.equal(files['base.yaml'], '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n\n');
    const outside = join(tempDir(), 'secret.yaml');
    writeFileSync(outside, 'kind: Secret\n');
    symlinkSync(outside, join(dir, 'manifests', 'c.yaml'));
    await assert.rejects(render(dir, helm4, []), (error: GitopsError) => {
      // Deliberate difference (README compatibility section): Fabrikate followed links anywhere on the agent.
      assert.match(error.describe(), /component\.yaml:\d+: path: static component base: manifest "manifests\/c\.yaml" resolves outside the HLD repository/);
      return true;
    });
  });

  it('runs a parent\'s hooks before its children are loaded, so a hook can create a child (WalkComponentTree: iterator before subcomponents)', async () => {
    const dir = hld({
      'component.yaml': [
        'name: root',
        'hooks:',
        '  before-install: ["echo root-before-install >> order.log"]',
        '  before-generate:',
        '    - sh make-children.sh',
        '    - echo root-before-generate >> order.log',
        '  after-generate: ["echo root-after-generate >> order.log"]',
        'subcomponents:',
        '  - name: made',
        '    type: static',
        '    path: ./gen',
        '    hooks: {before-generate: ["echo static >> order.log"]}',
        '  - name: child',
        '    source: ./child',
        '',
      ].join('\n'),
      'make-children.sh': [
        'mkdir -p gen child',
        'printf "apiVersion: v1\\nkind: Namespace\\nmetadata:\\n  name: made\\n" > gen/ns.yaml',
        `printf 'name: child-impl\\nhooks:\\n  before-generate: ["echo child >> ../order.log"]\\n' > child/component.yaml`,
        '',
      ].join('\n'),
    });
    const files = filesOf(await generate({ hldDir: dir, helmPath: helm4, environmentSets: [[]], outputDir: join(dir, 'generated'), env: { PATH: process.env.PATH }, allowLocalGitSources: true, logger: new MemoryLogger(), concurrency: 4 }));
    assert.deepEqual(Object.keys(files), ['child/child-impl.yaml', 'made.yaml', 'root.yaml']);
    assert.match(files['made.yaml'], /name: made/);
    const order = readFileSync(join(dir, 'order.log'), 'utf8').trim().split('\n');
    assert.deepEqual(order.slice(0, 3), ['root-before-install', 'root-before-generate', 'root-after-generate']);
    assert.deepEqual(order.slice(3).sort(), ['child', 'static']);
  });

  it('writes the helm values file with every string quoted', async () => {
    const dir = hld({ 'component.yaml': 'name: web\ntype: helm\npath: ./charts/echo\n', 'config/common.yaml': 'config:\n  sha: 5640e21\n  on: off\n', ...echoChart('echo') });
    // A helm stand-in that keeps the values file it was given, then runs the real helm.
    const keep = join(tempDir(), 'values.yaml');
    const wrapper = join(tempDir(), 'helm');
    writeFileSync(wrapper, `#!/bin/sh\nif [ "$1" = template ]; then for a in "$@"; do case "$a" in --values=*) cp "\${a#--values=}" ${keep};; esac; done; fi\nexec "${helm4}" "$@"\n`, { mode: 0o755 });
    await render(dir, wrapper, []);
    assert.equal(readFileSync(keep, 'utf8'), '"on": false\n"sha": "5640e21"\n');
  });
});
