import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GitopsError } from '../../../tasks/core/errors';
import { MemoryLogger } from '../../../tasks/core/logger';
import { loadComponentFile, validateStaticDirectory } from '../../../tasks/core/hld/component';
import { loadAccess, loadConfig, resolveAccessTokens } from '../../../tasks/core/hld/config';
import { tempDir } from '../../support/tmp';

function hld(files: Record<string, string>): string {
  const dir = tempDir('hld-');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

async function loadError(files: Record<string, string>): Promise<GitopsError> {
  const dir = hld(files);
  try {
    await loadComponentFile(dir, { root: dir, logger: new MemoryLogger() });
  } catch (error) {
    assert.ok(error instanceof GitopsError, String(error));
    return error;
  }
  return assert.fail('expected a GitopsError');
}

describe('hld component file', () => {
  it('reads every field and fills defaults', async () => {
    const dir = hld({
      'component.yaml': [
        'name: root',
        'hooks:',
        '  before-install: [echo a]',
        '  after-generate:',
        '    - echo b',
        '    - echo c',
        'subcomponents:',
        '  - name: lib',
        '    method: git',
        '    source: https://git.example.test/lib.git',
        '    path: deploy',
        '    version: 1.10',
        '    branch: release',
        '  - name: chart',
        '    type: helm',
        '    method: helm',
        '    source: https://charts.example.test',
        '    path: nginx',
        '    version: "4.0.1"',
        '  - name: raw',
        '    type: static',
        '    method: http',
        '    source: https://example.test/raw.yaml',
        '',
      ].join('\n'),
    });
    const def = await loadComponentFile(dir, { root: dir, logger: new MemoryLogger() });
    assert.equal(def.name, 'root');
    assert.equal(def.type, 'component');
    assert.equal(def.method, 'local');
    assert.deepEqual(def.hooks, { 'before-install': ['echo a'], 'after-generate': ['echo b', 'echo c'] });
    const [lib, chart, raw] = def.subcomponents;
    assert.deepEqual(
      { name: lib.name, type: lib.type, method: lib.method, source: lib.source, path: lib.path, version: lib.version, branch: lib.branch },
      { name: 'lib', type: 'component', method: 'git', source: 'https://git.example.test/lib.git', path: 'deploy', version: '1.10', branch: 'release' },
    );
    assert.deepEqual(lib.origin, { file: 'component.yaml', field: 'subcomponents[0]', line: 8 });
    assert.equal(chart.type, 'helm');
    assert.equal(chart.version, '4.0.1');
    assert.equal(raw.method, 'http');
  });

  it('reads component.json when there is no YAML', async () => {
    const dir = hld({ 'component.json': '{"name": "j", "subcomponents": [{"name": "s", "type": "static", "path": "m"}]}' });
    const def = await loadComponentFile(dir, { logger: new MemoryLogger() });
    assert.equal(def.subcomponents[0].type, 'static');
  });

  it('prefers component.yaml over component.json and warns', async () => {
    const dir = hld({ 'component.yaml': 'name: y\n', 'component.json': '{"name": "j"}' });
    const logger = new MemoryLogger();
    assert.equal((await loadComponentFile(dir, { root: dir, logger })).name, 'y');
    assert.match(logger.warnings.join('\n'), /component\.json is ignored/);
  });

  it('treats generator as a deprecated alias of type', async () => {
    const dir = hld({ 'component.yaml': 'name: r\nsubcomponents:\n  - name: c\n    generator: static\n    path: m\n' });
    const logger = new MemoryLogger();
    assert.equal((await loadComponentFile(dir, { root: dir, logger })).subcomponents[0].type, 'static');
    assert.match(logger.warnings.join('\n'), /subcomponents\[0\]\.generator is deprecated/);
  });

  it('warns about repositories and unknown fields, naming file and field path', async () => {
    const dir = hld({ 'component.yaml': 'name: r\nrepositories: {a: b}\nsubcomponents:\n  - name: c\n    colour: red\n' });
    const logger = new MemoryLogger();
    await loadComponentFile(dir, { root: dir, logger });
    const warnings = logger.warnings.join('\n');
    assert.match(warnings, /component\.yaml: repositories is deprecated/);
    assert.match(warnings, /component\.yaml: unknown field subcomponents\[0\]\.colour/);
  });

  it('fails when there is no component file', async () => {
    const error = await loadError({ 'component.yml': 'name: x\n' });
    assert.equal(error.file, 'component.yaml');
    assert.match(error.message, /rename it to component\.yaml/);
  });

  it('names file and line of malformed YAML', async () => {
    const error = await loadError({ 'component.yaml': 'name: a\nsubcomponents:\n  - name: [b\n' });
    assert.equal(error.file, 'component.yaml');
    assert.match(error.message, /malformed YAML/);
    assert.ok(error.line !== undefined && error.line >= 3);
  });

  it('names file and line of malformed JSON', async () => {
    const error = await loadError({ 'component.json': '{\n  "name": "a",\n  "subcomponents": [\n}\n' });
    assert.equal(error.file, 'component.json');
    assert.match(error.message, /malformed JSON/);
    assert.ok(error.line !== undefined && error.line >= 3);
  });

  it('requires name', async () => {
    const error = await loadError({ 'component.yaml': 'name: a\nsubcomponents:\n  - type: helm\n' });
    assert.equal(error.field, 'subcomponents[0].name');
    assert.equal(error.line, 3);
    assert.match(error.message, /missing required field "name"/);
  });

  it('rejects a name that is not a plain name', async () => {
    const error = await loadError({ 'component.yaml': 'name: a\nsubcomponents:\n  - name: ../escape\n' });
    assert.equal(error.field, 'subcomponents[0].name');
    assert.equal(error.line, 3);
  });

  it('rejects an unknown type', async () => {
    const error = await loadError({ 'component.yaml': 'name: a\ntype: jsonnet\n' });
    assert.deepEqual([error.field, error.line], ['type', 2]);
    assert.match(error.message, /unknown type "jsonnet"/);
    assert.match(error.hint ?? '', /component, helm, static, kustomize \(deliberate difference: Fabrikate rendered an unknown type as an empty file\)/);
  });

  it('rejects an unknown method', async () => {
    const error = await loadError({ 'component.yaml': 'name: a\nmethod: ftp\n' });
    assert.deepEqual([error.field, error.line], ['method', 2]);
  });

  it('rejects wrong field types', async () => {
    assert.deepEqual((await loadError({ 'component.yaml': 'name: a\nsource: [x]\n' })).field, 'source');
    assert.deepEqual((await loadError({ 'component.yaml': 'name: a\nsubcomponents: {x: 1}\n' })).field, 'subcomponents');
    assert.deepEqual((await loadError({ 'component.yaml': 'name: a\nhooks:\n  before-install: echo\n' })).field, 'hooks.before-install');
    assert.deepEqual((await loadError({ 'component.yaml': 'name: {a: 1}\n' })).field, 'name');
  });

  it('rejects an unknown hook name', async () => {
    const error = await loadError({ 'component.yaml': 'name: a\nhooks:\n  before-everything: [x]\n' });
    assert.deepEqual([error.field, error.line], ['hooks.before-everything', 3]);
  });

  it('rejects two siblings with the same name, pointing at the second', async () => {
    const error = await loadError({ 'component.yaml': 'name: a\nsubcomponents:\n  - name: b\n  - name: b\n' });
    assert.deepEqual([error.field, error.line], ['subcomponents[1].name', 4]);
    assert.match(error.message, /first on line 3/);
  });

  it('allows http only for static components', async () => {
    const error = await loadError({ 'component.yaml': 'name: a\nsubcomponents:\n  - name: b\n    type: helm\n    method: http\n    source: https://x\n' });
    assert.deepEqual([error.field, error.line], ['subcomponents[0].method', 5]);
  });

  it('requires source and path for method helm', async () => {
    const noSource = await loadError({ 'component.yaml': 'name: a\nsubcomponents:\n  - name: b\n    type: helm\n    method: helm\n    path: c\n' });
    assert.equal(noSource.field, 'subcomponents[0].source');
    const noPath = await loadError({ 'component.yaml': 'name: a\nsubcomponents:\n  - name: b\n    type: helm\n    method: helm\n    source: https://x\n' });
    assert.equal(noPath.field, 'subcomponents[0].path');
  });

  it('requires source for method git', async () => {
    const error = await loadError({ 'component.yaml': 'name: a\nsubcomponents:\n  - name: b\n    method: git\n' });
    assert.equal(error.field, 'subcomponents[0].source');
  });
});

describe('hld static directory check', () => {
  const def = { name: 's', type: 'static', method: 'local', source: '', path: 'm', version: '', branch: '', hooks: {}, subcomponents: [], origin: { file: 'component.yaml', field: 'subcomponents[0]', line: 4 } } as const;

  it('accepts a folder of files', async () => {
    const dir = hld({ 'm/a.yaml': 'a: 1\n' });
    assert.equal(await validateStaticDirectory(dir, { ...def, subcomponents: [], hooks: {} }), join(dir, 'm'));
  });

  it('fails for a missing folder, naming the component file and field', async () => {
    await assert.rejects(validateStaticDirectory(hld({}), { ...def, subcomponents: [], hooks: {} }), (error: GitopsError) =>
      error.file === 'component.yaml' && error.field === 'subcomponents[0].path' && error.line === 4 && /does not exist/.test(error.message));
  });

  it('fails for a folder holding a sub-directory', async () => {
    const dir = hld({ 'm/a.yaml': 'a: 1\n', 'm/nested/b.yaml': 'b: 1\n' });
    await assert.rejects(validateStaticDirectory(dir, { ...def, subcomponents: [], hooks: {} }), /sub-directory "nested"/);
  });
});

describe('hld config files', () => {
  it('reads every field of config/<env>.yaml', async () => {
    const dir = hld({ 'config/prod.yaml': 'namespace: web\ninjectNamespace: true\ndisabled: false\nconfig:\n  a: {b: [1, 2]}\nsubcomponents:\n  c:\n    disabled: true\n    config: {x: z}\n' });
    assert.deepEqual(await loadConfig(dir, 'prod', { logger: new MemoryLogger() }), {
      config: { a: { b: [1, 2] } }, namespace: 'web', injectNamespace: true, disabled: false,
      subcomponents: { c: { config: { x: 'z' }, namespace: '', injectNamespace: false, disabled: true, subcomponents: {} } },
    });
  });

  it('returns undefined when the environment has no file', async () => {
    assert.equal(await loadConfig(hld({}), 'prod', { logger: new MemoryLogger() }), undefined);
  });

  it('prefers YAML over JSON', async () => {
    const dir = hld({ 'config/prod.yaml': 'namespace: y\n', 'config/prod.json': '{"namespace": "j"}' });
    assert.equal((await loadConfig(dir, 'prod', { logger: new MemoryLogger() }))?.namespace, 'y');
  });

  it('reads JSON configs', async () => {
    const dir = hld({ 'config/prod.json': '{"config": {"a": 1}}' });
    assert.deepEqual((await loadConfig(dir, 'prod', { logger: new MemoryLogger() }))?.config, { a: 1 });
  });

  it('rejects wrong field types with file, line and field', async () => {
    const cases: [string, string, number][] = [
      ['namespace: [a]\n', 'namespace', 1],
      ['injectNamespace: "yes"\n', 'injectNamespace', 1],
      ['config:\n  a: 1\ndisabled: 1\n', 'disabled', 3],
      ['config: [a]\n', 'config', 1],
      ['subcomponents:\n  a:\n    config: 5\n', 'subcomponents.a.config', 3],
      ['subcomponents: [a]\n', 'subcomponents', 1],
    ];
    for (const [text, field, line] of cases) {
      const dir = hld({ 'config/prod.yaml': text });
      await assert.rejects(loadConfig(dir, 'prod', { root: dir, logger: new MemoryLogger() }), (error: GitopsError) => {
        assert.deepEqual([error.file, error.field, error.line], [join('config', 'prod.yaml'), field, line], text);
        return true;
      });
    }
  });

  it('warns about unknown fields', async () => {
    const logger = new MemoryLogger();
    await loadConfig(hld({ 'config/prod.yaml': 'values: {}\n' }), 'prod', { logger });
    assert.match(logger.warnings.join('\n'), /unknown field values/);
  });

  it('rejects environment names that are not plain names', async () => {
    await assert.rejects(loadConfig(hld({}), '../prod', { logger: new MemoryLogger() }), /not a plain name/);
  });
});

describe('hld access.yaml', () => {
  it('maps sources to variable names and resolves them from a given environment', async () => {
    const dir = hld({ 'access.yaml': 'https://git.example.test/a.git: TOKEN_A\nhttps://git.example.test/b.git: TOKEN_B\n' });
    const access = await loadAccess(dir);
    assert.deepEqual(access, { 'https://git.example.test/a.git': 'TOKEN_A', 'https://git.example.test/b.git': 'TOKEN_B' });
    assert.deepEqual(resolveAccessTokens(access, { TOKEN_A: 's3cret' }), {
      tokens: { 'https://git.example.test/a.git': 's3cret' },
      missing: [{ source: 'https://git.example.test/b.git', variable: 'TOKEN_B' }],
      refused: [],
    });
  });

  it('never reads the tool\'s, the proxy\'s or the agent\'s own variables, in any case', () => {
    const reserved = ['GITOPS_GIT_TOKEN', 'gitops_pr_token', 'BEDROCK_GITOPS_CA_FILE', 'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'ALL_PROXY', 'NO_PROXY',
      'ARGOCD_AUTH_TOKEN', 'SYSTEM_ACCESSTOKEN', 'AGENT_PROXYPASSWORD', 'ENDPOINT_AUTH_X', 'SECRET_X', 'INPUT_TOKEN', 'VSTS_X'];
    const env = Object.fromEntries([...reserved, 'GIT_SOURCE_TOKEN', 'MY_PROXY_TOKEN'].map((name) => [name, `value-of-${name}`]));
    const access = Object.fromEntries([...reserved, 'GIT_SOURCE_TOKEN', 'MY_PROXY_TOKEN'].map((name) => [`https://git.example.test/${name}.git`, name]));
    const resolved = resolveAccessTokens(access, env);
    assert.deepEqual(resolved.tokens, {
      'https://git.example.test/GIT_SOURCE_TOKEN.git': 'value-of-GIT_SOURCE_TOKEN',
      'https://git.example.test/MY_PROXY_TOKEN.git': 'value-of-MY_PROXY_TOKEN',
    });
    assert.deepEqual(resolved.refused.map((r) => r.variable), reserved);
    assert.deepEqual(resolved.missing, []);
  });

  it('is empty without access.yaml', async () => {
    assert.deepEqual(await loadAccess(hld({})), {});
  });

  it('rejects a value that is not a variable name', async () => {
    await assert.rejects(loadAccess(hld({ 'access.yaml': 'https://x: "ghp_abc def"\n' })), /must name an environment variable/);
  });
});
