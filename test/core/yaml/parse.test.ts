import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitopsError } from '../../../tasks/core/errors';
import { setValuesInText } from '../../../tasks/core/hld/set';
import { parseResources } from '../../../tasks/core/report';
import { isYamlSyntaxError, loadYamlDocuments, parseYamlDocument, parseYamlValue, readYamlText } from '../../../tasks/core/yaml/parse';
import { tempDir } from '../../support/tmp';
import { aliasBomb as aliasBombOf, flatConfig } from '../../support/yamlFixtures';

/** 510 bytes that expand to 9^7 (4.8 million) strings. */
const aliasBomb = `${aliasBombOf(7)}\nkind: ConfigMap\nmetadata: {name: lol}\n`;

function refused(run: () => unknown, pattern: RegExp, file: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof GitopsError, `not a GitopsError: ${String(error)}`);
    assert.equal(error.file, file);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('yaml: bounded parse', () => {
  it('refuses an alias bomb in both parsers in milliseconds, naming the file', () => {
    const started = Date.now();
    refused(() => parseYamlDocument(aliasBomb, 'config/prod.yaml'), /alias bomb/, 'config/prod.yaml');
    refused(() => loadYamlDocuments(aliasBomb, 'manifests/cm.yaml'), /alias bomb/, 'manifests/cm.yaml');
    refused(() => parseResources('prod/cm.yaml', aliasBomb), /alias bomb/, 'prod/cm.yaml');
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  });

  it('finds aliases in compact flow syntax too (no spaces around them)', () => {
    const names = 'abcdefgh'.split('');
    const compact = `{"a":&a ["l","l","l","l","l","l","l","l","l"],${names.slice(1).map((n, i) => `"${n}":&${n} [${Array(9).fill(`*${names[i]}`).join(',')}]`).join(',')}}`;
    assert.ok(!compact.includes(' *'));
    refused(() => loadYamlDocuments(compact, 'compact.json'), /alias bomb/, 'compact.json');
    refused(() => loadYamlDocuments('{"a":&a {"b":*a}}', 'c.json'), /cycle/, 'c.json');
    // `b:*a` in block context and `self:*k` in flow context are plain text, not aliases.
    assert.deepEqual(loadYamlDocuments('- &a [x]\n- b:*a\n- {self:*k, d: [*a]}\n', 'm.yaml'), [[['x'], 'b:*a', { 'self:*k': null, d: [['x']] }]]);
  });

  it('allows anchors reused a reasonable number of times', () => {
    const text = 'base: &base {image: nginx, replicas: 2}\na: *base\nb: *base\nc: [*base, *base, *base]\n';
    assert.deepEqual((parseYamlValue(text, 'f.yaml') as { c: unknown[] }).c.length, 3);
    assert.equal(loadYamlDocuments(text, 'f.yaml').length, 1);
  });

  it('refuses alias cycles instead of overflowing the stack', () => {
    for (const text of ['a: &a [*a]\n', '&a {b: *a}\n', 'x: &x\n  y: &y\n    z: *x\n']) {
      refused(() => parseYamlDocument(text, 'c.yaml'), /cycle/, 'c.yaml');
      let loaded: unknown;
      try {
        loaded = loadYamlDocuments(text, 'c.yaml');
      } catch (error) {
        assert.ok(error instanceof GitopsError && error.file === 'c.yaml' && /cycle/.test(error.message), String(error));
        continue;
      }
      assert.doesNotThrow(() => JSON.stringify(loaded), 'js-yaml loaded a cycle that was not refused');
    }
  });

  it('refuses deep nesting with a GitopsError', () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    refused(() => loadYamlDocuments(deep, 'deep.yaml'), /nest/i, 'deep.yaml');
    refused(() => parseYamlDocument(deep, 'deep.yaml'), /nested/, 'deep.yaml');
  });

  it('refuses text over the size limit before parsing it', () => {
    refused(() => parseYamlDocument('a: 1\n'.repeat(100), 'big.yaml', {}, { maxBytes: 100 }), /over the .* limit/, 'big.yaml');
    refused(() => loadYamlDocuments('a: 1\n'.repeat(100), 'big.yaml', { maxBytes: 100 }), /over the .* limit/, 'big.yaml');
  });

  it('refuses invalid UTF-8 and names the file', async () => {
    const file = join(tempDir('yaml-utf8-'), 'prod.yaml');
    writeFileSync(file, Buffer.from([0x61, 0x3a, 0x20, 0xc3, 0x28, 0x0a]));
    await assert.rejects(readYamlText(file, 'config/prod.yaml'), (error: unknown) => error instanceof GitopsError && error.file === 'config/prod.yaml' && /UTF-8/.test(error.message));
  });

  it('finds duplicate keys in linear time with the line of both', () => {
    refused(() => parseYamlDocument('a: 1\nb: 2\na: 3\n', 'd.yaml'), /duplicate key "a" \(first on line 1\)/, 'd.yaml');
    const started = Date.now();
    parseYamlDocument(flatConfig(2_400_000), 'config/prod.yaml');
    assert.ok(Date.now() - started < 8000, `2.4 MB flat config took ${Date.now() - started} ms`);
  });

  it('tells syntax errors apart from refusals', () => {
    assert.throws(() => loadYamlDocuments('a: [1\n', 'x.yaml'), (error: unknown) => isYamlSyntaxError(error) && (error as GitopsError).file === 'x.yaml');
    assert.throws(() => loadYamlDocuments(aliasBomb, 'x.yaml'), (error: unknown) => !isYamlSyntaxError(error));
  });

  it('set on a 2.4 MB flat config stays fast', () => {
    const text = flatConfig(2_400_000);
    const started = Date.now();
    const result = setValuesInText(text, { environment: 'prod', subcomponent: 'web', values: [{ path: ['key5'], value: 'new', typed: false }] }, 'config/prod.yaml');
    assert.ok(result.changed);
    assert.ok(Date.now() - started < 10_000, `set took ${Date.now() - started} ms`);
  });
});
