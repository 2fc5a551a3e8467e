import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { assertTagFitsPolicy, compareTags, parseTagPolicy } from '../../../tasks/core/jobs/tagPolicy';
import { closestName, editDistance, suggestion } from '../../../tasks/core/suggest';

describe('tag policy: which build is newer', () => {
  it('auto orders build numbers as numbers, not as text', () => {
    assert.equal(compareTags('9', '10', 'auto'), 'newer');
    assert.equal(compareTags('10', '9', 'auto'), 'older');
    assert.equal(compareTags('0042', '42', 'auto'), 'same');
    assert.equal(compareTags('123456789012345678901234567890', '123456789012345678901234567891', 'auto'), 'newer');
  });

  it('auto orders semantic versions by precedence, pre-releases before the release', () => {
    assert.equal(compareTags('1.9.0', '1.10.0', 'auto'), 'newer');
    assert.equal(compareTags('1.10.0', '1.9.0', 'auto'), 'older');
    assert.equal(compareTags('v2.0.0', '2.0.0', 'auto'), 'same');
    assert.equal(compareTags('1.0.0-rc.1', '1.0.0', 'auto'), 'newer');
    assert.equal(compareTags('1.0.0', '1.0.0-rc.1', 'auto'), 'older');
    assert.equal(compareTags('1.0.0-alpha', '1.0.0-alpha.1', 'auto'), 'newer');
    assert.equal(compareTags('1.0.0-alpha.beta', '1.0.0-beta', 'auto'), 'newer');
    assert.equal(compareTags('1.0.0-beta.11', '1.0.0-beta.2', 'auto'), 'older');
    assert.equal(compareTags('1.0.0-2', '1.0.0-alpha', 'auto'), 'newer', 'numeric identifiers sort before alphanumeric ones');
  });

  it('auto ignores a pinned digest after the tag', () => {
    assert.equal(compareTags(`1.2.3@sha256:${'a'.repeat(64)}`, '1.2.2', 'auto'), 'older');
  });

  it('auto does not order tags of different kinds or free-form tags: they are written', () => {
    assert.equal(compareTags('1.2.3', '42', 'auto'), 'unordered');
    assert.equal(compareTags('latest', 'main-abc123', 'auto'), 'unordered');
    assert.equal(compareTags('initial', '7', 'auto'), 'unordered');
    assert.equal(compareTags('same', 'same', 'auto'), 'same');
  });

  it('any never calls a tag older (explicit rollback)', () => {
    assert.equal(compareTags('10', '9', 'any'), 'unordered');
    assert.equal(compareTags('2.0.0', '1.0.0', 'any'), 'unordered');
  });

  it('numeric and semver fail on a tag they cannot order, naming tagPolicy', () => {
    assert.throws(() => compareTags('latest', '5', 'numeric'), (e: Error & { field?: string }) => e.field === 'tagPolicy' && /the tag in the HLD "latest"/.test(e.message));
    assert.throws(() => compareTags('1.0.0', 'build-7', 'semver'), (e: Error & { field?: string }) => e.field === 'tagPolicy' && /the new tag "build-7"/.test(e.message));
    assert.equal(compareTags('1.0.0', '1.0.1', 'semver'), 'newer');
    assert.equal(compareTags('5', '4', 'numeric'), 'older');
    assert.throws(() => assertTagFitsPolicy('1.2', 'semver'), /not a semantic version/);
    assert.throws(() => assertTagFitsPolicy('v7', 'numeric'), /not a whole number/);
    assert.doesNotThrow(() => assertTagFitsPolicy('anything', 'auto'));
  });

  it('parses the policy input and refuses unknown values', () => {
    assert.equal(parseTagPolicy(''), 'auto');
    assert.equal(parseTagPolicy('SemVer'), 'semver');
    assert.throws(() => parseTagPolicy('newest', '--tag-policy'), (e: Error & { field?: string }) => e.field === '--tag-policy' && /auto, semver, numeric, any/.test(e.message));
  });

  it('orders any two build numbers and any two versions like their numbers (property)', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.bigInt({ min: 0n, max: 10n ** 30n }), (a, b) => {
      const expected = b > a ? 'newer' : b < a ? 'older' : 'same';
      assert.equal(compareTags(String(a), String(b), 'auto'), expected);
    }));
    const version = fc.tuple(fc.nat(50), fc.nat(50), fc.nat(50));
    fc.assert(fc.property(version, version, (a, b) => {
      const sign = Math.sign(a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
      const expected = sign < 0 ? 'newer' : sign > 0 ? 'older' : 'same';
      assert.equal(compareTags(a.join('.'), b.join('.'), 'auto'), expected);
    }));
  });
});

describe('closest-name suggestions', () => {
  it('counts insertions, deletions, substitutions and swapped neighbours as one edit', () => {
    assert.equal(editDistance('stagin', 'staging'), 1);
    assert.equal(editDistance('apii', 'api'), 1);
    assert.equal(editDistance('prdo', 'prod'), 1);
    assert.equal(editDistance('prod', 'qa'), 4);
  });

  it('suggests the closest existing name for a typo, and lists the names otherwise', () => {
    assert.equal(closestName('stagin', ['prod', 'staging', 'common']), 'staging');
    assert.equal(closestName('prdo', ['prod', 'staging']), 'prod');
    assert.equal(closestName('Prod', ['prod']), 'prod');
    assert.equal(closestName('canary', ['prod', 'staging']), undefined);
    assert.equal(suggestion('canary', ['staging', 'prod']), 'existing: prod, staging');
    assert.equal(suggestion('apii', ['api', 'web']), 'did you mean "api"?');
    assert.equal(suggestion('x', []), '');
  });
});
