import { strict as assert } from 'node:assert';
import { loadConfig } from '../../../tasks/core/hld/config';
import { goScalar, toFabrikateValue } from '../../../tasks/core/hld/fabrikateYaml';
import { MemoryLogger } from '../../../tasks/core/logger';
import { mergeConfigs } from '../../../tasks/core/hld/merge';
import { emptyConfig, ComponentConfig } from '../../../tasks/core/hld/model';
import { parseSource } from '../../../tasks/core/hld/yamlSource';
import { writeTree } from '../../support/hldFixtures';
import { tempDir } from '../../support/tmp';

function read(text: string): unknown {
  const { document } = parseSource(text, 'config/common.yaml');
  return toFabrikateValue(document.contents as never, document);
}

describe('hld YAML as Fabrikate read it (timfpark/yaml resolve.go)', () => {
  it('resolves plain scalars to what resolve.go gives', () => {
    // [text, value]: value undefined = stays a string.
    const cases: [string, number | undefined][] = [
      ['0644', 420], ['+0644', 420], ['-0644', -420], ['0', 0], ['0b101', 5], ['-0b101', -5], ['0B11', 3], ['0o17', 15], ['0x1F', 31], ['0X1f', 31],
      ['1_000', 1000], ['1__0', 10], ['0x_1F', 31], ['08', 8], ['09.5', 9.5], ['42', 42], ['-7', -7],
      ['1e+3', 1000], ['1E-3', 0.001], ['1.5', 1.5], ['.5', 0.5], ['+.5', 0.5], ['.5e3', 500], ['1.5e+3', 1500],
      ['9223372036854775807', 9223372036854775807], ['18446744073709551615', 18446744073709551615],
      ['1e3', undefined], ['5640e21', undefined], ['1.5e3', undefined], ['1.', undefined], ['1:20', undefined],
      ['2001-12-14', undefined], ['0x', undefined], ['0b', undefined], ['0b102', undefined], ['abc', undefined], ['_1', undefined],
      ['1e+400', undefined], ['1.2.3', undefined], ['v1', undefined], ['0644a', undefined], ['._5', undefined],
    ];
    for (const [text, value] of cases) assert.equal(goScalar(text)?.value, value, text);
    assert.equal(goScalar('0644')?.type, 'int');
    assert.equal(goScalar('08')?.type, 'float');
  });

  it('reads keywords, quoted values, keys and merge keys as the fork decoded them into map[string]interface{}', () => {
    assert.deepEqual(read([
      'b: [y, Y, yes, Yes, YES, n, NO, on, On, off, OFF, true, False, yEs]',
      'n: [~, null, Null, NULL, ""]',
      'q: ["0644", \'yes\', !!str 0644]',
      'yes: key', 'on: 1', '1: a', '~: empty',
      'inf: [.inf, -.Inf, .NAN]',
      'a: &a {x: 1, y: 2}', 'b2: &b {y: 3, z: 4}',
      'm1: {<<: *a, x: 9}', 'm2: {x: 9, <<: *a}', 'm3: {<<: [*a, *b]}', 'm4: {"<<": quoted}',
      'dup: 1', 'dup: 2', '',
    ].join('\n')), {
      b: [true, true, true, true, true, false, false, true, true, false, false, true, false, 'yEs'],
      n: [null, null, null, null, ''],
      q: ['0644', 'yes', '0644'],
      yes: 'key', on: 1, 1: 'a', '': 'empty',
      inf: [Infinity, -Infinity, NaN],
      a: { x: 1, y: 2 }, b2: { y: 3, z: 4 },
      m1: { x: 9, y: 2 }, m2: { x: 1, y: 2 }, m3: { x: 1, y: 2, z: 4 }, m4: { '<<': 'quoted' },
      dup: 2,
    });
  });

  it('stops an alias bomb instead of expanding it', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    // The bounded parser (yaml/parse.ts) refuses it before any value is built; the decoder has its own cap too.
    assert.throws(() => read(lines.join('\n')), (error: Error) => /alias bomb|aliases expand to more than/.test(error.message));
  });
});

describe('hld config merge: conjungo rules for null and nil maps', () => {
  const layer = (partial: Partial<ComponentConfig>): ComponentConfig => ({ ...emptyConfig(), ...partial });

  it('keeps a higher null unless a lower layer has a value; drops a lower null the higher map lacks', () => {
    const merged = mergeConfigs([
      layer({ config: { m: { gone: null, filled: null, kept: 1 } } }),
      layer({ config: { m: { filled: 'low', extra: null, added: 2 }, whole: { inner: null } } }),
    ]);
    assert.deepEqual(merged.config, { m: { gone: null, filled: 'low', kept: 1, added: 2 }, whole: { inner: null } });
  });

  it('takes the next layer whole after a layer without config: (Go nil map)', () => {
    const merged = mergeConfigs([layer({ configAbsent: true }), layer({ config: { top: null, a: 1 } }), layer({ config: { top: 'x', b: null } })]);
    assert.deepEqual(merged.config, { top: 'x', a: 1 });
    assert.equal('configAbsent' in merged, false);
  });
});

describe('hld config files: merge keys and repeated fields as go-yaml decoded them into ComponentConfig', () => {
  it('applies << in subcomponent entries and lets a repeated config: add keys', async () => {
    const dir = writeTree(tempDir('bg-merge-'), {
      'config/prod.yaml': [
        'subcomponents:',
        '  web: &web',
        '    namespace: shared',
        '    config: {a: 1, b: 1}',
        '  api:',
        '    <<: *web',
        '    config: {b: 2}',
        '    config: {c: 3}',
        '',
      ].join('\n'),
    });
    const logger = new MemoryLogger();
    const config = await loadConfig(dir, 'prod', { logger });
    assert.equal(config?.subcomponents.api.namespace, 'shared');
    assert.deepEqual(config?.subcomponents.api.config, { a: 1, b: 2, c: 3 });
    assert.deepEqual(logger.warnings.filter((w) => /unknown field/.test(w)), []);
  });
});
