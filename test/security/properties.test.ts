/**
 * Property-based tests of the parsers every hostile value goes through first: branch and tag
 * names, key paths, image references, repository-relative paths and printed URLs. Random input
 * never crashes with anything but a GitopsError (a clear refusal), and what is accepted
 * round-trips; an accepted branch name is also one git itself accepts.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { GitopsError } from '../../tasks/core/errors';
import { displayUrl } from '../../tasks/core/exec';
import { formatKeyPath, parseAssignment, parseKeyPath } from '../../tasks/core/hld/keypath';
import { mergeConfigs } from '../../tasks/core/hld/merge';
import { emptyConfig } from '../../tasks/core/hld/model';
import { assertBranchName, assertRefName, assertRelativePath, isReservedKey } from '../../tasks/core/names';
import { formatImageReference, parseImageReference } from '../../tasks/core/registry/reference';

/** Runs `fn`; a GitopsError means "refused" (undefined), any other throw fails the property. */
function refusedOr<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    if (error instanceof GitopsError) return undefined;
    throw error;
  }
}

/** Pieces that make up plausible and hostile ref names alike. */
const refPiece = fc.constantFrom(
  'main', 'release', 'v1.2', 'feature', 'a', 'Z9', '_x', 'ü', '-', '--upload-pack=x', '.', '..', '/', '//', '@', '@{', '{', '}',
  '~', '^', ':', '?', '*', '[', '\\', ' ', '\t', '\n', '\u0000', '\u007f', '.lock', 'refs/heads/', 'refs/tags/', 'HEAD', '#', '%', '+', ',', ';', '=',
);
const refText = fc.array(refPiece, { minLength: 0, maxLength: 6 }).map((parts) => parts.join(''));
const plainRef = fc.array(fc.constantFrom('main', 'release', 'v1.2', 'feature', 'x_y', 'Z9'), { minLength: 1, maxLength: 3 }).map((p) => p.join('/'));

function gitAcceptsBranch(name: string): boolean {
  return spawnSync('git', ['check-ref-format', '--branch', name], { encoding: 'utf8' }).status === 0;
}

describe('properties of the input parsers (fast-check)', function () {
  this.timeout(120_000);

  describe('branch and tag names', () => {
    it('refuse or accept any text with a GitopsError only, and every accepted name is one git accepts', () => {
      let accepted = 0;
      fc.assert(fc.property(fc.oneof(refText, plainRef, plainRef.map((n) => `refs/heads/${n}`)), (text) => {
        const name = refusedOr(() => assertBranchName(text, 'hldBranch'));
        if (name === undefined) return;
        accepted++;
        assert.ok(gitAcceptsBranch(name), `git refuses ${JSON.stringify(name)} (from ${JSON.stringify(text)})`);
        assert.ok(!name.startsWith('-') && !name.startsWith('refs/heads/'));
        assert.equal(assertBranchName(name, 'hldBranch'), name, 'validating twice changes nothing');
      }), { numRuns: 250 });
      assert.ok(accepted > 20, `only ${accepted} names were accepted: the property proved little`);
    });

    it('name the input in every refusal', () => {
      fc.assert(fc.property(refText, fc.constantFrom('manifestBranch', 'verifySyncTag', 'pullRequestTargetBranch'), (text, field) => {
        try {
          assertRefName(text, field, field === 'verifySyncTag' ? 'tag' : 'branch');
        } catch (error) {
          assert.ok(error instanceof GitopsError);
          assert.equal(error.field, field);
          assert.match(error.describe(), new RegExp(field));
        }
      }), { numRuns: 300 });
    });

    it('strip refs/heads/ from branches and refs/tags/ from tags, the same way everywhere', () => {
      fc.assert(fc.property(plainRef, (name) => {
        assert.equal(assertBranchName(`refs/heads/${name}`, 'hldBranch'), name);
        assert.equal(assertRefName(`refs/tags/${name}`, 'verifySyncTag', 'tag'), name);
      }));
    });
  });

  describe('key paths', () => {
    const keyChar = fc.constantFrom('a', 'b', 'Z', '0', '.', '"', '=', ':', ' ', '/', '-', '_', '\n', '\u0001', 'é', '__proto__', 'constructor', 'prototype', 'k8s.io');
    const keyText = fc.array(keyChar, { maxLength: 10 }).map((parts) => parts.join(''));

    it('parse any text into segments or refuse it with a GitopsError; accepted paths round-trip through formatKeyPath', () => {
      fc.assert(fc.property(fc.oneof(keyText, fc.string({ maxLength: 20 })), (text) => {
        const path = refusedOr(() => parseKeyPath(text));
        if (path === undefined) return;
        assert.ok(path.length > 0);
        assert.ok(!path.some(isReservedKey), `a reserved key was accepted: ${JSON.stringify(path)}`);
        assert.deepEqual(parseKeyPath(formatKeyPath(path)), path);
      }), { numRuns: 500 });
    });

    it('format any list of segments so that it parses back to the same segments', () => {
      const segment = fc.string({ maxLength: 8 }).filter((s) => !/[\x00-\x1f\x7f]/.test(s) && !isReservedKey(s));
      fc.assert(fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), (path) => {
        assert.deepEqual(parseKeyPath(formatKeyPath(path)), path);
      }), { numRuns: 300 });
    });

    it('parse any assignment or refuse it; an accepted one written back parses to the same key, value and kind', () => {
      fc.assert(fc.property(keyText, fc.boolean(), fc.string({ maxLength: 12 }), (key, typed, value) => {
        const assignment = refusedOr(() => parseAssignment(`${key}${typed ? ':' : ''}=${value}`));
        if (assignment === undefined) return;
        const again = parseAssignment(`${formatKeyPath(assignment.path)}${assignment.typed ? ':' : ''}=${assignment.value}`);
        assert.deepEqual(again, assignment);
      }), { numRuns: 400 });
    });
  });

  describe('image references', () => {
    const refChar = fc.constantFrom('a', 'z', '0', '9', '.', '-', '_', '__', '/', ':', '@', 'sha256:', 'A', ' ', 'localhost', '5000', '99999', '[::1]', 'https://');
    const refString = fc.array(refChar, { maxLength: 10 }).map((parts) => parts.join(''));
    const component = fc.stringMatching(/^[a-z0-9]{1,4}([._-][a-z0-9]{1,3})?$/);
    const structured = fc.record({
      registry: fc.option(fc.oneof(fc.constant('localhost:5000'), fc.constant('myacr.azurecr.io'), fc.integer({ min: 1, max: 65535 }).map((p) => `127.0.0.1:${p}`)), { nil: undefined }),
      path: fc.array(component, { minLength: 1, maxLength: 3 }),
      tag: fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}$/), { nil: undefined }),
      digest: fc.option(fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`), { nil: undefined }),
    }).map(({ registry, path, tag, digest }) => `${registry ? `${registry}/` : ''}${path.join('/')}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`);

    it('parse any text or refuse it with a GitopsError; an accepted reference formats to one that parses the same', () => {
      let accepted = 0;
      fc.assert(fc.property(fc.oneof(refString, structured), (text) => {
        const parsed = refusedOr(() => parseImageReference(text));
        if (parsed === undefined) return;
        accepted++;
        assert.deepEqual(parseImageReference(formatImageReference(parsed)), parsed);
      }), { numRuns: 400 });
      assert.ok(accepted > 50, `only ${accepted} references were accepted`);
    });

    it('never accept a port outside 1-65535', () => {
      fc.assert(fc.property(fc.oneof(fc.integer({ min: 65536, max: 10_000_000 }), fc.constant(0)), (port) => {
        assert.equal(refusedOr(() => parseImageReference(`localhost:${port}/api:1`)), undefined);
      }), { numRuns: 100 });
    });
  });

  describe('repository-relative paths', () => {
    const segment = fc.constantFrom('envs', 'prod', '.git', '.GIT', '.Git.', 'git~1', '..', '.', '', 'a b', 'x.git', '.gitignore', '.github', 'C:', '\\', '\u0000');
    it('never accept a .git segment (any case) or one leaving the root, and refuse only with a GitopsError', () => {
      fc.assert(fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), (segments) => {
        const path = refusedOr(() => assertRelativePath(segments.join('/'), 'manifestPath', { field: 'manifestPath' }));
        if (path === undefined || path === '') return;
        for (const part of path.split('/')) {
          assert.ok(!/^\.git[. ]*$/i.test(part) && !/^git~\d+$/i.test(part), `accepted ${JSON.stringify(path)}`);
          assert.ok(part !== '..' && part !== '.' && part !== '');
        }
      }), { numRuns: 400 });
    });
  });

  describe('printed URLs and merged config', () => {
    it('never print the user info of any URL in any text', () => {
      const userinfo = fc.stringMatching(/^[A-Za-z0-9._~%!$&'()*+,;=:-]{6,24}$/).filter((s) => !s.includes('//'));
      fc.assert(fc.property(userinfo, fc.constantFrom('https', 'http', 'ssh', 'git+https'), fc.string({ maxLength: 10 }), (user, scheme, around) => {
        const text = `${around} ${scheme}://${user}@dev.azure.com/org/project/_git/repo ${around}`;
        assert.ok(!displayUrl(text).includes(`${user}@`), displayUrl(text));
      }), { numRuns: 300 });
    });

    it('merge config layers holding __proto__, constructor or prototype keys as plain data, without touching Object.prototype', () => {
      const key = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'a', 'b');
      const value = fc.letrec((tie) => ({
        node: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.string({ maxLength: 3 }), fc.array(key).chain((keys) => fc.tuple(...keys.map(() => tie('node'))).map((vs) => keys.map((k, i) => [k, vs[i]] as const))).map(objectFrom)),
      })).node;
      fc.assert(fc.property(fc.array(value.filter((v) => typeof v === 'object' && !Array.isArray(v)), { minLength: 1, maxLength: 3 }), (configs) => {
        const merged = mergeConfigs(configs.map((config) => ({ ...emptyConfig(), config: config as Record<string, unknown> })));
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        assert.equal(Object.getPrototypeOf(merged.config), Object.prototype);
        for (const config of configs) {
          for (const k of Object.keys(config as object)) assert.ok(Object.hasOwn(merged.config, k), `key ${k} was lost`);
        }
      }), { numRuns: 200 });
    });
  });
});

/** A plain object with own enumerable keys, `__proto__` included (as YAML parsing makes them). */
function objectFrom(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  return object;
}
