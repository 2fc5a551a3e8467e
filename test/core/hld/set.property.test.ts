/**
 * Property-based tests of the in-place `set`: whatever the key path, the value and the existing
 * document, it either writes exactly the value asked for (read back by a fresh parse) or refuses
 * with a GitopsError; it never crashes with anything else.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { GitopsError } from '../../../tasks/core/errors';
import { formatKeyPath } from '../../../tasks/core/hld/keypath';
import { parseAssignment, setValuesInText, type SetValue } from '../../../tasks/core/hld/set';

const runs = { numRuns: 150, seed: 20261129, endOnFailure: true };

/** Key segments: plain words, words with dots, quotes, spaces and `=`, YAML keywords, numbers, unicode. */
const segment = fc.oneof(
  fc.constantFrom('image', 'tag', 'replicas', 'a.b', 'k8s.io/name', 'with "quotes"', 'x=y', 'true', 'null', 'yes', '~', '<<', '007', '1.10', '-dash', 'sp ace', 'ünï', '#hash', ':colon', '&amp', '*star', '[br]', '{br}'),
  fc.string({ minLength: 1, maxLength: 8 }),
).filter((s) => !/[\x00-\x1f\x7f]/.test(s));

/** Existing config values: scalars of every kind, nested maps and lists. */
const leaf = fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
const configValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(segment, tie('value'), { maxKeys: 3 })),
})).value;

/** An existing config file: a subcomponent `web` with random config, written as YAML (block or flow) or JSON. */
const existingDocument = fc.record({
  config: fc.dictionary(segment, configValue, { maxKeys: 4 }),
  style: fc.constantFrom('block', 'flow', 'json', 'empty'),
}).map(({ config, style }) => {
  const document = { subcomponents: { web: { config } } };
  if (style === 'empty') return { text: '', file: 'config/prod.yaml' };
  if (style === 'json') return { text: `${JSON.stringify(document, null, 2)}\n`, file: 'config/prod.json' };
  return { text: stringify(document, { flowCollectionPadding: false, collectionStyle: style === 'flow' ? 'flow' : 'block' }), file: 'config/prod.yaml' };
});

/** A string value as typed on the command line (`key=value`): anything on one line. */
const stringValue = fc.oneof(
  fc.constantFrom('', '1.10', '007', '2e3', 'true', 'null', 'a: b', '- x', '#not a comment', "it's", 'say "hi"', '{a: 1}', '[1]', '*alias', '&anchor', 'v1=2', ' lead', 'trail ', 'ünïcödé', '\\'),
  fc.string({ maxLength: 20 }),
).filter((s) => !/[\x00-\x1f\x7f]/.test(s));

function valueAt(document: unknown, path: readonly string[]): unknown {
  let node = document;
  for (const key of path) {
    if (!node || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** How many sets wrote a value: a property that only ever saw refusals would prove nothing. */
let written = 0;

function setOrRefuse(text: string, file: string, values: SetValue[]): ReturnType<typeof setValuesInText> | undefined {
  try {
    const result = setValuesInText(text, { environment: 'prod', subcomponent: 'web', values }, file);
    written++;
    return result;
  } catch (error) {
    if (error instanceof GitopsError && !/internal error/.test(error.message)) return undefined;
    throw error;
  }
}

describe('set: property-based', () => {
  beforeEach(() => {
    written = 0;
  });
  const wroteEnough = () => assert.ok(written >= runs.numRuns / 4, `only ${written} of ${runs.numRuns} runs wrote a value`);

  it('a string value set at any key path reads back as that string, or is refused with a GitopsError', () => {
    fc.assert(
      fc.property(existingDocument, fc.array(segment, { minLength: 1, maxLength: 3 }), stringValue, ({ text, file }, path, value) => {
        const result = setOrRefuse(text, file, [{ path, value, typed: false }]);
        if (!result) return;
        const reread = parse(result.text);
        assert.deepEqual(valueAt(reread, ['subcomponents', 'web', 'config', ...path]), value);
      }),
      runs,
    );
    wroteEnough();
  });

  it('the same through the command-line syntax: formatKeyPath, then parseAssignment, then set', () => {
    fc.assert(
      fc.property(existingDocument, fc.array(segment, { minLength: 1, maxLength: 3 }), stringValue, ({ text, file }, path, value) => {
        let assignment: SetValue;
        try {
          assignment = parseAssignment(`${formatKeyPath(path)}=${value}`);
        } catch (error) {
          if (error instanceof GitopsError) return;
          throw error;
        }
        assert.deepEqual(assignment.path, path, 'formatKeyPath and parseAssignment must round-trip');
        const result = setOrRefuse(text, file, [assignment]);
        if (!result) return;
        assert.deepEqual(valueAt(parse(result.text), ['subcomponents', 'web', 'config', ...path]), value);
      }),
      runs,
    );
    wroteEnough();
  });

  it('typed values (numbers, booleans, null, flow lists) read back as the typed value', () => {
    const typed = fc.oneof(
      fc.integer().map((n) => ({ text: String(n), value: n as unknown })),
      fc.boolean().map((b) => ({ text: String(b), value: b as unknown })),
      fc.constant({ text: 'null', value: null as unknown }),
      fc.array(fc.integer({ min: -99, max: 99 }), { maxLength: 4 }).map((list) => ({ text: `[${list.join(', ')}]`, value: list as unknown })),
    );
    fc.assert(
      fc.property(existingDocument, fc.array(segment, { minLength: 1, maxLength: 3 }), typed, ({ text, file }, path, { text: valueText, value }) => {
        const result = setOrRefuse(text, file, [{ path, value: valueText, typed: true }]);
        if (!result) return;
        assert.deepEqual(valueAt(parse(result.text), ['subcomponents', 'web', 'config', ...path]), value);
      }),
      runs,
    );
    wroteEnough();
  });

  it('arbitrary text as the existing file never crashes set with anything but a GitopsError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.array(segment, { minLength: 1, maxLength: 2 }), stringValue, (text, path, value) => {
        const result = setOrRefuse(text, 'config/prod.yaml', [{ path, value, typed: false }]);
        if (!result) return;
        assert.deepEqual(valueAt(parse(result.text), ['subcomponents', 'web', 'config', ...path]), value);
      }),
      runs,
    );
  });
});
