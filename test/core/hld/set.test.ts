import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { GitopsError } from '../../../tasks/core/errors';
import { MemoryLogger } from '../../../tasks/core/logger';
import { parseAssignment, parseKeyPath, setValues, setValuesInText } from '../../../tasks/core/hld/set';
import { tempDir } from '../../support/tmp';

function set(text: string, assignments: string[], subcomponent = '', file = 'config/prod.yaml', noNewKeys = false) {
  return setValuesInText(text, { environment: 'prod', subcomponent, values: assignments.map(parseAssignment), noNewKeys }, file);
}

function expectSet(text: string, assignments: string[], expected: string, subcomponent = '', file = 'config/prod.yaml'): void {
  const result = set(text, assignments, subcomponent, file);
  assert.equal(result.text, expected);
  assert.equal(result.changed, text !== expected);
}

function gitopsError(run: () => unknown): GitopsError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof GitopsError, `expected a GitopsError, got ${error}`);
    return error;
  }
  assert.fail('expected an error');
}

describe('hld set: parsing assignments', () => {
  it('splits a dotted key path', () => {
    assert.deepEqual(parseKeyPath('image.tag'), ['image', 'tag']);
  });

  it('keeps a quoted segment whole', () => {
    assert.deepEqual(parseKeyPath('a."k8s.io/x".b'), ['a', 'k8s.io/x', 'b']);
  });

  it('rejects empty segments and unclosed quotes', () => {
    assert.throws(() => parseKeyPath('a..b'), /empty segment/);
    assert.throws(() => parseKeyPath('a."b'), /not closed/);
  });

  it('splits at the first = outside quotes so values may contain =', () => {
    assert.deepEqual(parseAssignment('a."x=y".b=v=w'), { path: ['a', 'x=y', 'b'], value: 'v=w', typed: false });
  });

  it('reads := as a typed assignment', () => {
    assert.deepEqual(parseAssignment('replicas:=3'), { path: ['replicas'], value: '3', typed: true });
  });

  it('refuses values with newlines or control characters', () => {
    assert.throws(() => parseAssignment('a=line1\nline2'), /newline or control character/);
    assert.throws(() => parseAssignment('a=x\u0007'), /control character/);
  });

  it('refuses text without =', () => {
    assert.throws(() => parseAssignment('image.tag'), /not a key=value assignment/);
  });
});

describe('hld set: in-place edits of config text', () => {
  it('replaces a plain value and leaves comments, blank lines and order alone', () => {
    const before = '# prod settings\nconfig:\n  # the image\n  image:\n    repository: nginx   # upstream\n\n    tag: v1\nnamespace: web\n';
    expectSet(before, ['image.tag=v2'], before.replace('tag: v1', 'tag: v2'));
  });

  it('quotes values YAML would read as non-strings', () => {
    const before = 'config:\n  tag: v1\n';
    for (const value of ['1.10', '007', '2e3', '1.0', 'true', 'null', '~', 'yes', 'on', 'n', '']) {
      const result = set(before, [`tag=${value}`]);
      assert.equal(result.text, `config:\n  tag: ${JSON.stringify(value)}\n`, value);
      assert.equal(parse(result.text).config.tag, value);
    }
  });

  it('keeps a double-quoted value double-quoted', () => {
    expectSet('config:\n  tag: "abc"\n', ['tag=def'], 'config:\n  tag: "def"\n');
  });

  it('keeps a single-quoted value single-quoted and escapes quotes', () => {
    expectSet("config:\n  tag: 'abc'\n", ["tag=it's"], "config:\n  tag: 'it''s'\n");
  });

  it('keeps an existing number a number when the new value is a number', () => {
    expectSet('config:\n  replicas: 3\n', ['replicas=4'], 'config:\n  replicas: 4\n');
  });

  it('writes a string over a number when the new value is not a number', () => {
    expectSet('config:\n  replicas: 3\n', ['replicas=many'], 'config:\n  replicas: many\n');
  });

  it('keeps an existing boolean a boolean', () => {
    expectSet('config:\n  enabled: true\n', ['enabled=false'], 'config:\n  enabled: false\n');
  });

  it('writes typed values with :=', () => {
    expectSet('config:\n  replicas: "3"\n', ['replicas:=5', 'debug:=true', 'extra:=null', 'list:=[1, 2]'],
      'config:\n  replicas: 5\n  debug: true\n  extra: null\n  list: [1, 2]\n');
  });

  it('rejects a typed value that is not YAML', () => {
    assert.throws(() => set('config: {}\n', ['a:={x']), /not a valid YAML value/);
  });

  it('keeps = inside values', () => {
    expectSet('config:\n  args: a\n', ['args=--opt=1'], 'config:\n  args: --opt=1\n');
  });

  it('uses quoted key segments as one key', () => {
    expectSet('config:\n  annotations:\n    "k8s.io/x": old\n', ['annotations."k8s.io/x"=new'],
      'config:\n  annotations:\n    "k8s.io/x": new\n');
  });

  it('reports no change and identical text when the value is already set', () => {
    const before = 'config:\n  image:\n    tag: "1.10"\n';
    const result = set(before, ['image.tag=1.10']);
    assert.equal(result.changed, false);
    assert.equal(result.text, before);
    assert.deepEqual(result.changes, []);
  });

  it('reports each change with old and new values', () => {
    const result = set('config:\n  tag: v1\n', ['tag=v2', 'new=x']);
    assert.deepEqual(result.changes, [
      { key: 'tag', oldValue: 'v1', newValue: 'v2' },
      { key: 'new', newValue: 'x' },
    ]);
  });

  it('keeps CRLF line endings, also for inserted keys', () => {
    expectSet('config:\r\n  tag: v1\r\n', ['tag=v2', 'pull=Always'], 'config:\r\n  tag: v2\r\n  pull: Always\r\n');
  });

  it('keeps a missing final newline missing', () => {
    expectSet('config:\n  tag: v1', ['tag=v2', 'other=x'], 'config:\n  tag: v2\n  other: x');
  });

  it('keeps the --- document marker', () => {
    expectSet('---\nconfig:\n  tag: v1\n', ['tag=v2'], '---\nconfig:\n  tag: v2\n');
  });

  it('keeps anchors and aliases elsewhere in the file', () => {
    const before = 'defaults: &d\n  size: 1\nconfig:\n  tag: v1\n  res: *d\n';
    expectSet(before, ['tag=v2'], before.replace('tag: v1', 'tag: v2'));
  });

  it('refuses to edit through an alias', () => {
    const error = gitopsError(() => set('defaults: &d\n  size: 1\nconfig: *d\n', ['size=2']));
    assert.match(error.message, /alias/);
    assert.equal(error.file, 'config/prod.yaml');
    assert.equal(error.line, 3);
  });

  it('refuses to change an anchored value that aliases use', () => {
    assert.throws(() => set('config:\n  a: &x v1\n  b: *x\n', ['a=v2']), /anchored/);
  });

  it('keeps block scalars elsewhere and replaces a block scalar value with a quoted one', () => {
    const before = 'config:\n  script: |\n    echo hi\n  note: >\n    folded\n    text\n  tag: v1\n';
    expectSet(before, ['script=echo bye'], 'config:\n  script: "echo bye"\n  note: >\n    folded\n    text\n  tag: v1\n');
  });

  it('replaces a value that has a trailing comment without touching the comment', () => {
    expectSet('config:\n  tag: v1 # pinned\n', ['tag=v2'], 'config:\n  tag: v2 # pinned\n');
  });

  it('inserts new keys in the file indentation style', () => {
    expectSet('config:\n    image:\n        tag: v1\n', ['image.pull=Always', 'resources.cpu=1m'],
      'config:\n    image:\n        tag: v1\n        pull: Always\n    resources:\n        cpu: "1m"\n');
  });

  it('writes into an empty file', () => {
    expectSet('', ['image.tag=1.2'], 'config:\n  image:\n    tag: "1.2"\n');
  });

  it('writes into a comment-only file after the comment', () => {
    expectSet('# nothing yet\n', ['tag=v1'], '# nothing yet\nconfig:\n  tag: v1\n');
  });

  it('creates subcomponents when the file has none', () => {
    expectSet('config:\n  a: 1\n', ['image.tag=v1'], 'config:\n  a: 1\nsubcomponents:\n  web:\n    config:\n      image:\n        tag: v1\n', 'web');
  });

  it('creates config under a subcomponent that has none', () => {
    expectSet('subcomponents:\n  web:\n    namespace: web\n', ['tag=v1'],
      'subcomponents:\n  web:\n    namespace: web\n    config:\n      tag: v1\n', 'web');
  });

  it('fills a subcomponent whose config is empty', () => {
    expectSet('subcomponents:\n  web:\n    config:\n  db: {}\n', ['tag=v1'],
      'subcomponents:\n  web:\n    config:\n      tag: v1\n  db: {}\n', 'web');
  });

  it('replaces an explicit null config with a map', () => {
    expectSet('config: ~ # later\n', ['tag=v1'], 'config:\n  tag: v1 # later\n');
  });

  it('creates a nested a.b subcomponent whose parent has no subcomponents', () => {
    expectSet('subcomponents:\n  a:\n    config:\n      x: 1\n', ['tag=v1'],
      'subcomponents:\n  a:\n    config:\n      x: 1\n    subcomponents:\n      b:\n        config:\n          tag: v1\n', 'a.b');
  });

  it('inserts inside a subcomponent flow config', () => {
    expectSet('subcomponents:\n  web:\n    config: {}\n', ['a.b=1.0'], 'subcomponents:\n  web:\n    config: {a: {b: "1.0"}}\n', 'web');
  });

  it('fills a key that has no value yet', () => {
    expectSet('config:\n  tag:\n', ['tag=v1'], 'config:\n  tag: v1\n');
  });

  it('writes after a lone --- marker', () => {
    expectSet('---\n', ['a=x'], '---\nconfig:\n  a: x\n');
  });

  it('inserts after a list value and before a trailing comment', () => {
    expectSet('config:\n  list:\n    - a\n# end\n', ['b=x'], 'config:\n  list:\n    - a\n  b: x\n# end\n');
  });

  it('inserts inside an empty flow map', () => {
    expectSet('config: {}\n', ['image.tag=1.0'], 'config: {image: {tag: "1.0"}}\n');
  });

  it('inserts inside a flow map with entries and keeps its entries', () => {
    expectSet('config: {a: 1, b: "x"}\n', ['c=v', 'b=y'], 'config: {a: 1, b: "y", c: v}\n');
  });

  it('edits a JSON file and keeps it valid JSON in its own layout', () => {
    const before = '{\n  "config": {\n    "image": {\n      "tag": "v1"\n    }\n  }\n}\n';
    const result = set(before, ['image.tag=1.10', 'image.pull=Always', 'replicas:=2'], '', 'config/prod.json');
    assert.equal(result.text,
      '{\n  "config": {\n    "image": {\n      "tag": "1.10",\n      "pull": "Always"\n    },\n    "replicas": 2\n  }\n}\n');
    assert.deepEqual(JSON.parse(result.text), { config: { image: { tag: '1.10', pull: 'Always' }, replicas: 2 } });
  });

  it('adds nested JSON objects with indentation', () => {
    const before = '{\n  "namespace": "web"\n}\n';
    const result = set(before, ['image.tag=v1'], 'web', 'config/prod.json');
    assert.equal(result.text,
      '{\n  "namespace": "web",\n  "subcomponents": {\n    "web": {\n      "config": {\n        "image": {\n          "tag": "v1"\n        }\n      }\n    }\n  }\n}\n');
    JSON.parse(result.text);
  });

  it('writes an empty JSON file as JSON', () => {
    const result = set('', ['tag=v1'], '', 'config/prod.json');
    assert.deepEqual(JSON.parse(result.text), { config: { tag: 'v1' } });
  });

  it('quotes keys and values that YAML 1.1 or 1.2 would not read as plain strings', () => {
    expectSet('config:\n  a: 1\n', ['"true"=x', '"k8s.io/name"=y'], 'config:\n  a: 1\n  "true": x\n  k8s.io/name: "y"\n');
  });

  it('refuses to replace a map with a string', () => {
    assert.throws(() => set('config:\n  image:\n    tag: v1\n', ['image=x']), /holds a map/);
  });

  it('refuses to descend into a string', () => {
    const error = gitopsError(() => set('config:\n  image: nginx\n', ['image.tag=x']));
    assert.match(error.message, /is not a map/);
    assert.equal(error.line, 2);
  });

  it('names the file and line of malformed YAML', () => {
    const error = gitopsError(() => set('config:\n  a: [1\nb: 2\n', ['a=1']));
    assert.equal(error.file, 'config/prod.yaml');
    assert.match(error.message, /malformed YAML/);
    assert.ok(error.line && error.line >= 2);
  });

  describe('noNewKeys', () => {
    it('allows changing an existing key', () => {
      const result = set('subcomponents:\n  web:\n    config:\n      tag: v1\n', ['tag=v2'], 'web', 'c.yaml', true);
      assert.equal(result.text, 'subcomponents:\n  web:\n    config:\n      tag: v2\n');
    });

    it('fails for a missing key, naming the file and path', () => {
      const error = gitopsError(() => set('config:\n  tag: v1\n', ['image.tag=v2'], '', 'c.yaml', true));
      assert.equal(error.file, 'c.yaml');
      assert.equal(error.field, 'config.image');
    });

    it('fails for a missing subcomponent', () => {
      const error = gitopsError(() => set('config:\n  tag: v1\n', ['tag=v2'], 'web', 'c.yaml', true));
      assert.equal(error.field, 'subcomponents');
    });
  });
});

describe('hld set: files', () => {
  it('creates config/<env>.yaml when missing', async () => {
    const dir = tempDir();
    const result = await setValues(dir, { environment: 'prod', subcomponent: 'web', values: [parseAssignment('image.tag=1.10')] }, new MemoryLogger());
    assert.equal(result.created, true);
    assert.equal(result.file, join(dir, 'config', 'prod.yaml'));
    assert.equal(readFileSync(result.file, 'utf8'), 'subcomponents:\n  web:\n    config:\n      image:\n        tag: "1.10"\n');
  });

  it('edits config/<env>.json when only that exists', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'config'));
    writeFileSync(join(dir, 'config', 'prod.json'), '{"config": {"tag": "v1"}}');
    const result = await setValues(dir, { environment: 'prod', subcomponent: '', values: [parseAssignment('tag=v2')] }, new MemoryLogger());
    assert.equal(result.file, join(dir, 'config', 'prod.json'));
    assert.equal(readFileSync(result.file, 'utf8'), '{"config": {"tag": "v2"}}');
    assert.equal(existsSync(join(dir, 'config', 'prod.yaml')), false);
  });

  it('does not write the file when nothing changes', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'config'));
    const file = join(dir, 'config', 'prod.yaml');
    writeFileSync(file, 'config:\n  tag: v1\n');
    const before = (await import('node:fs')).statSync(file).mtimeMs;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const result = await setValues(dir, { environment: 'prod', subcomponent: '', values: [parseAssignment('tag=v1')] }, new MemoryLogger());
    assert.equal(result.changed, false);
    assert.equal((await import('node:fs')).statSync(file).mtimeMs, before);
  });

  it('rejects an environment that is not a plain name', async () => {
    await assert.rejects(setValues(tempDir(), { environment: '../x', subcomponent: '', values: [] }, new MemoryLogger()), /not a plain name/);
  });
});

describe('hld set: cases from its peers\' test suites (issue 12)', () => {
  it('sets list items by index and by key=value selector, never creating a key named "images[0]"', () => {
    const before = 'config:\n  images:\n    - name: web\n      tag: 1.0.0\n    - name: api\n      tag: 1.0.0\n';
    expectSet(before, ['images[0].tag=2.0.0'], before.replace('web\n      tag: 1.0.0', 'web\n      tag: 2.0.0'));
    expectSet(before, ['images[name=api].tag=3.0.0'], before.replace('api\n      tag: 1.0.0', 'api\n      tag: 3.0.0'));
    expectSet(before, ['images[name=api].pullPolicy=Always'], `${before}      pullPolicy: Always\n`);
    const flow = 'config:\n  containers: [{name: web, image: "nginx:1"}]\n';
    expectSet(flow, ['containers[name=web].image=nginx:2'], 'config:\n  containers: [{name: web, image: "nginx:2"}]\n');
  });

  it('refuses list selectors that match nothing or do not address a list, and never creates list items', () => {
    const before = 'config:\n  images:\n    - name: web\n      tag: 1.0.0\n';
    assert.match(gitopsError(() => set(before, ['images[3].tag=2'])).message, /config\.images\[3\] does not exist: config\.images has 1 item/);
    assert.match(gitopsError(() => set(before, ['images[name=db].tag=2'])).message, /none with name: db/);
    assert.match(gitopsError(() => set(before, ['missing[0].tag=2'])).message, /does not create lists or list items/);
    assert.match(gitopsError(() => set('config:\n  images: {a: 1}\n', ['images[0].tag=2'])).message, /images is not a list/);
    assert.throws(() => parseAssignment('images[x].tag=2'), /not a list selector/);
    // A key that really holds brackets is quoted.
    expectSet('config:\n  a: 1\n', ['"images[0]".tag=2'], 'config:\n  a: 1\n  "images[0]":\n    tag: "2"\n');
  });

  it('inserts nested keys into a 2-space JSON config with 2-space steps', () => {
    const before = '{\n  "config": {\n    "image": {\n      "tag": "v1"\n    }\n  }\n}\n';
    const result = set(before, ['resources.limits.cpu=1'], '', 'config/prod.json');
    assert.equal(result.text, '{\n  "config": {\n    "image": {\n      "tag": "v1"\n    },\n    "resources": {\n      "limits": {\n        "cpu": "1"\n      }\n    }\n  }\n}\n');
  });

  it('says that a config with several YAML documents is unsupported, and accepts a trailing ---', () => {
    const error = gitopsError(() => set('config:\n  a: 1\n---\nconfig:\n  b: 2\n', ['a=2']));
    assert.match(error.message, /holds 2 YAML documents; a config or component file must be one document/);
    assert.match(error.hint ?? '', /deliberate difference from Fabrikate/);
    assert.doesNotMatch(error.message, /malformed/);
    expectSet('config:\n  a: x\n---\n', ['a=z'], 'config:\n  a: z\n---\n');
  });

  it('keeps a plain value plain when the new string is safe as plain, and quotes it otherwise', () => {
    expectSet('config:\n  image: nginx:v0.9\n', ['image=nginx:v1.0.0'], 'config:\n  image: nginx:v1.0.0\n');
    expectSet('config:\n  text: old value\n', ['text=new value'], 'config:\n  text: new value\n');
    for (const [value, quoted] of [['5640e21', '"5640e21"'], ['on', '"on"'], ['a: b', '"a: b"'], ['x #y', '"x #y"'], ['0644', '"0644"'], ['-x', '-x']]) {
      expectSet('config:\n  tag: abc\n', [`tag=${value}`], `config:\n  tag: ${quoted}\n`);
    }
  });

  it('treats an unquoted short SHA written by fab set as the string it was (Fabrikate\'s resolve.go: no float without a signed exponent)', () => {
    // The old value is a string under Fabrikate's rules, so a new all-digit tag stays a string too.
    const result = set('config:\n  tag: 5640e21\n', ['tag=1234567']);
    assert.equal(result.text, 'config:\n  tag: "1234567"\n');
    assert.deepEqual(result.changes, [{ key: 'tag', oldValue: '5640e21', newValue: '1234567' }]);
  });

  it('refuses to edit a key that appears twice (Fabrikate used the last one)', () => {
    assert.match(gitopsError(() => set('config:\n  tag: a\n  tag: b\n', ['tag=c'])).message, /tag appears 2 times in one map; Fabrikate used the last one/);
  });
});
