/**
 * Which image tag is newer. An HLD update compares the tag already in the HLD with the one it
 * would write, so that an older build finishing late never rolls a cluster back on its own.
 */
import { GitopsError } from '../errors';
import { TAG_POLICIES } from '../settings/git';

/**
 * `auto`: compare when both tags are semantic versions, or both plain integers (build ids);
 * otherwise write. `semver` / `numeric`: compare that way, fail when a tag does not parse.
 * `any`: always write (explicit rollbacks).
 */
export type TagPolicy = (typeof TAG_POLICIES)[number];

/** How the candidate tag relates to the current one; `unordered` when the policy cannot compare them. */
export type TagOrder = 'older' | 'same' | 'newer' | 'unordered';

// SemVer 2.0.0 (an optional leading "v", common in image tags); build metadata uses "_" in
// image tags since "+" is not allowed there, so both are accepted and ignored in the order.
const semverPattern = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:[+_][0-9A-Za-z.-]+)?$/;
const integerPattern = /^\d+$/;

interface SemVer {
  core: [bigint, bigint, bigint];
  prerelease: string[];
}

function parseSemver(tag: string): SemVer | undefined {
  const m = semverPattern.exec(tag);
  if (!m) return undefined;
  return { core: [BigInt(m[1]), BigInt(m[2]), BigInt(m[3])], prerelease: m[4] ? m[4].split('.') : [] };
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** SemVer precedence: core numbers, then a pre-release sorts before the release, identifiers in order. */
function compareSemver(a: SemVer, b: SemVer): number {
  for (let i = 0; i < 3; i++) {
    const c = compareBig(a.core[i], b.core[i]);
    if (c !== 0) return c;
  }
  if (a.prerelease.length === 0 && b.prerelease.length === 0) return 0;
  if (a.prerelease.length === 0) return 1;
  if (b.prerelease.length === 0) return -1;
  for (let i = 0; i < Math.min(a.prerelease.length, b.prerelease.length); i++) {
    const [x, y] = [a.prerelease[i], b.prerelease[i]];
    const [xn, yn] = [integerPattern.test(x), integerPattern.test(y)];
    const c = xn && yn ? compareBig(BigInt(x), BigInt(y)) : xn ? -1 : yn ? 1 : x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return c;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}

/** A tag as written in the HLD may carry a pinned digest (`1.2.3@sha256:...`): the tag is before the `@`. */
export function tagPart(value: string): string {
  const at = value.indexOf('@');
  return (at >= 0 ? value.slice(0, at) : value).trim();
}

function order(c: number): TagOrder {
  return c < 0 ? 'older' : c > 0 ? 'newer' : 'same';
}

/**
 * Orders `candidate` against `current` under `policy`. `semver` and `numeric` throw a GitopsError
 * (field tagPolicy) naming the tag that does not parse.
 */
export function compareTags(current: string, candidate: string, policy: TagPolicy): TagOrder {
  const [a, b] = [tagPart(current), tagPart(candidate)];
  if (policy === 'any') return a === b ? 'same' : 'unordered';
  if (policy === 'numeric' || (policy === 'auto' && integerPattern.test(a) && integerPattern.test(b))) {
    for (const [tag, what] of [[a, 'the tag in the HLD'], [b, 'the new tag']] as const) {
      if (!integerPattern.test(tag)) throw unparsable(tag, what, 'numeric', 'a whole number such as a build id');
    }
    return order(compareBig(BigInt(b), BigInt(a)));
  }
  const [x, y] = [parseSemver(a), parseSemver(b)];
  if (policy === 'semver') {
    if (!x) throw unparsable(a, 'the tag in the HLD', 'semver', 'a semantic version such as 1.2.3');
    if (!y) throw unparsable(b, 'the new tag', 'semver', 'a semantic version such as 1.2.3');
  }
  if (x && y) return order(compareSemver(y, x));
  return a === b ? 'same' : 'unordered';
}

/** Fails when a tag to be written cannot be ordered under the policy (checked before anything is cloned). */
export function assertTagFitsPolicy(tag: string, policy: TagPolicy, field = 'imageTag'): void {
  const t = tagPart(tag);
  if (policy === 'numeric' && !integerPattern.test(t)) {
    throw new GitopsError(`${field} ${JSON.stringify(t)} is not a whole number, as tagPolicy numeric requires`, { field, hint: 'use tagPolicy auto or any for tags that are not build ids' });
  }
  if (policy === 'semver' && !parseSemver(t)) {
    throw new GitopsError(`${field} ${JSON.stringify(t)} is not a semantic version, as tagPolicy semver requires`, { field, hint: 'use tagPolicy auto or any for tags that are not versions' });
  }
}

export function parseTagPolicy(value: string | undefined, field = 'tagPolicy'): TagPolicy {
  const text = (value ?? '').trim();
  if (!text) return 'auto';
  const match = TAG_POLICIES.find((p) => p === text.toLowerCase());
  if (!match) throw new GitopsError(`${field} must be one of ${TAG_POLICIES.join(', ')}, not ${JSON.stringify(text)}`, { field });
  return match;
}

function unparsable(tag: string, what: string, policy: TagPolicy, expected: string): GitopsError {
  return new GitopsError(`${what} ${JSON.stringify(tag)} is not ${expected}, so tagPolicy ${policy} cannot order it`, {
    field: 'tagPolicy',
    hint: 'use tagPolicy auto (compare only tags of the same kind) or any (always write)',
  });
}
