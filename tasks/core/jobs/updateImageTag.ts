import { GitopsError } from '../errors';
import { formatKeyPath, parseAssignment, parseKeyPath, type SetValue } from '../hld/keypath';
import { parseImageReference } from '../registry/reference';
import { renderChangeSummary } from '../report';
import { previousTagLine } from '../trace/previousTag';
import { defaultImageTagMessage, expandTemplate } from './commitMessage';
import { updateHld, validateHldUpdate, type HldUpdateOptions, type HldUpdateResult } from './updateHld';

export interface ImageTagRequest {
  imageTag: string;
  /** As the user wrote it (`myacr.azurecr.io/team/api`); no tag or digest. Empty: left as it is. */
  imageRepository?: string;
  tagKey: string;
  repositoryKey: string;
  /** More `key.path=value` lines set in the same commit. */
  additionalValues: string[];
  /** `sha256:<hex>` written to digestKey (PromoteContainer's pinDigest). */
  digest?: string;
  digestKey?: string;
  /** Write the digest into the tag value as `tag@sha256:...` instead of to digestKey (pinDigest tagAtDigest). */
  digestInTag?: boolean;
}

const tagGrammar = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const digestGrammar = /^sha256:[a-f0-9]{64}$/;
const controlCharacters = /[\x00-\x1f\x7f]/;

function inputError(field: string, message: string, hint?: string): GitopsError {
  return new GitopsError(message, { field, hint });
}

function keyPath(text: string, field: string): string[] {
  if (controlCharacters.test(text)) throw inputError(field, `${field} contains a newline or control character`);
  try {
    return parseKeyPath(text.trim());
  } catch (error) {
    throw new GitopsError(`${field}: ${(error as Error).message}`, { field, hint: (error as GitopsError).hint, cause: error });
  }
}

/**
 * A string value that reads back as a string: a tag like `1.10`, `2e3` or `true` would replace an
 * old number or boolean as that kind, so such tags are written quoted (typed as a YAML string).
 */
function stringValue(path: string[], value: string): SetValue {
  const couldBeRead = /^[0-9]/.test(value) || /^(true|false|yes|no|on|off|null|y|n)$/i.test(value);
  return couldBeRead ? { path, value: JSON.stringify(value), typed: true } : { path, value, typed: false };
}

/** The values an image update sets, after validating every part; errors name the task input. */
export function imageTagValues(request: ImageTagRequest): SetValue[] {
  const tag = request.imageTag ?? '';
  if (controlCharacters.test(tag)) throw inputError('imageTag', 'imageTag contains a newline or control character');
  if (!tag.trim()) throw inputError('imageTag', 'imageTag is empty', 'pass the tag the build pushed, e.g. $(Build.BuildNumber)');
  if (!tagGrammar.test(tag)) {
    throw inputError('imageTag', `imageTag ${JSON.stringify(tag)} is not a valid image tag`,
      'a tag is 1-128 letters, digits, "_", "." and "-", not starting with "." or "-"');
  }
  const values: SetValue[] = [];
  const tagPath = keyPath(request.tagKey, 'tagKey');
  values.push(stringValue(tagPath, tag));

  const repository = request.imageRepository?.trim() ?? '';
  if (controlCharacters.test(request.imageRepository ?? '')) {
    throw inputError('imageRepository', 'imageRepository contains a newline or control character');
  }
  if (repository) {
    let parsed;
    try {
      parsed = parseImageReference(repository);
    } catch (error) {
      throw new GitopsError(`imageRepository: ${(error as Error).message}`, { field: 'imageRepository', hint: (error as GitopsError).hint, cause: error });
    }
    if (parsed.tag !== undefined || parsed.digest !== undefined) {
      throw inputError('imageRepository', `imageRepository ${JSON.stringify(repository)} must not include a tag or digest`,
        'give the repository only (e.g. myacr.azurecr.io/team/api) and the tag in imageTag');
    }
    const repositoryPath = keyPath(request.repositoryKey, 'repositoryKey');
    if (formatKeyPath(repositoryPath) === formatKeyPath(tagPath)) {
      throw inputError('repositoryKey', `repositoryKey and tagKey are the same key (${formatKeyPath(tagPath)})`, 'use two different keys, e.g. image.repository and image.tag');
    }
    values.push(stringValue(repositoryPath, repository));
  }

  if (request.digest !== undefined && request.digest !== '') {
    if (!digestGrammar.test(request.digest)) throw inputError('digest', `digest ${JSON.stringify(request.digest)} is not sha256:<64 lowercase hex>`);
    if (request.digestInTag) {
      values[0] = stringValue(tagPath, `${tag}@${request.digest}`);
    } else {
      if (!request.digestKey?.trim()) throw inputError('digestKey', 'digestKey is empty but a digest is to be written');
      values.push(stringValue(keyPath(request.digestKey, 'digestKey'), request.digest));
    }
  }

  for (const line of request.additionalValues) {
    if (!line.trim()) continue;
    let value: SetValue;
    try {
      value = parseAssignment(line.trim());
    } catch (error) {
      throw new GitopsError(`additionalValues: ${(error as Error).message}`, { field: 'additionalValues', hint: (error as GitopsError).hint, cause: error });
    }
    values.push(value);
  }

  const seen = new Set<string>();
  for (const value of values) {
    const key = formatKeyPath(value.path);
    if (seen.has(key)) {
      throw inputError('additionalValues', `the key ${key} is set twice`, 'each key may be set once: remove it from additionalValues');
    }
    seen.add(key);
  }
  return values;
}

/**
 * The tag policy a caller may force (rollback writes an older tag on purpose: 'any').
 * MERGE NOTE: placeholder for the tagPolicy option (auto|semver|numeric|any) of UpdateImageTag.
 */
export type TagPolicyOverride = 'auto' | 'semver' | 'numeric' | 'any';

/** Image reference as recorded in the commit trailer: `registry/repo:tag[@digest]`, or the tag alone. */
export function imageDisplay(image: ImageTagRequest): string {
  const repository = image.imageRepository?.trim();
  const digest = image.digest ? `@${image.digest}` : '';
  return repository ? `${repository}:${image.imageTag}${digest}` : `${image.imageTag}${digest}`;
}

/** Writes an image tag (and repository) into the HLD: validation, commit message, trailers, then updateHld. */
export function updateImageTag(options: Omit<HldUpdateOptions, 'values'> & { image: ImageTagRequest; tagPolicy?: TagPolicyOverride }): Promise<HldUpdateResult> {
  // tagPolicy: see TagPolicyOverride (rollback passes 'any'); not passed on to updateHld.
  const { image, tagPolicy: _tagPolicy, ...rest } = options;
  const values = imageTagValues(image);
  validateHldUpdate(rest);
  const imageText = imageDisplay(image);
  const placeholders = {
    image: imageText,
    repository: image.imageRepository?.trim() ?? '',
    tag: image.imageTag,
    digest: image.digest ?? '',
    environment: rest.target.environment,
    subcomponent: rest.target.subcomponent || 'root',
    componentPath: rest.target.componentPath,
    branch: rest.target.branch,
    ...rest.commit.placeholders,
  };
  const subject = rest.commit.subject.trim() || expandTemplate(defaultImageTagMessage, placeholders);
  // Fail on a template typo now, before anything is cloned.
  if (rest.commit.messageTemplate) expandTemplate(rest.commit.messageTemplate, placeholders);
  return updateHld({
    ...rest,
    values,
    commit: {
      ...rest.commit,
      subject,
      placeholders,
      trailers: {
        'Gitops-Image': image.imageRepository?.trim() ? imageText : undefined,
        'Gitops-Image-Tag': image.imageTag,
        'Gitops-Environment': rest.target.environment,
        'Gitops-Subcomponent': rest.target.subcomponent || undefined,
        ...rest.commit.trailers,
      },
    },
  });
}

/** A browser link to a commit on Azure Repos or GitHub; undefined for other remotes (file://, ssh). */
export function commitWebUrl(repositoryUrl: string | undefined, commit: string): string | undefined {
  if (!repositoryUrl || !/^https?:\/\//i.test(repositoryUrl)) return undefined;
  const base = repositoryUrl.replace(/^(https?:\/\/)[^/@]*@/i, '$1').replace(/\/+$/, '').replace(/\.git$/, '');
  return /\/_git\/|github/i.test(base) ? `${base}/commit/${commit}` : undefined;
}

/** The Markdown summary of an image update: file, key, old → new, commit or pull request link. */
export function imageTagSummary(result: HldUpdateResult, image: ImageTagRequest, repositoryUrl?: string): string {
  const previous = previousTagLine(result.changes, image.imageTag, result.file, { repositoryUrl, branch: result.branch });
  return renderChangeSummary({
    title: `Image tag ${image.imageTag}`,
    changes: result.changes.map((c) => ({
      file: result.file,
      key: c.key,
      oldValue: 'oldValue' in c ? String(c.oldValue) : undefined,
      newValue: String(c.newValue),
    })),
    commit: result.commitId && !result.pullRequestId ? { sha: result.commitId, url: commitWebUrl(repositoryUrl, result.commitId) } : undefined,
    pullRequest: result.pullRequestId !== undefined && result.pullRequestUrl ? { id: result.pullRequestId, url: result.pullRequestUrl } : undefined,
    note: result.changed ? undefined : result.closedPullRequest
      ? `every value was already set; closed the stale pull request #${result.closedPullRequest.id} (${result.closedPullRequest.url})`
      : 'every value was already set',
  }) + (previous ? `\n${previous}\n` : '');
}
