import { GitopsError } from '../errors';
import { formatKeyPath, parseAssignment, parseKeyPath, type SetValue } from '../hld/keypath';
import { parseImageReference } from '../registry/reference';
import { renderChangeSummary } from '../report';
import { hasControlCharacter } from '../names';
import { previousTagLine } from '../trace/previousTag';
import { defaultImageTagMessage, expandTemplate } from './commitMessage';
import { assertTagFitsPolicy, type TagPolicy } from './tagPolicy';
import { changeKey, updateHld, validateHldUpdate, type HldEdit, type HldUpdateOptions, type HldUpdateResult } from './updateHld';

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
  /** With several images: the subcomponent this image goes to (otherwise the target's). */
  subcomponent?: string;
}

/**
 * The `images` input (CLI: repeated --image): one `subcomponent=repository:tag` or
 * `subcomponent=tag` per line; blank lines are skipped. Errors name the input and the line.
 */
export function parseImageLines(lines: readonly string[], keys: { tagKey: string; repositoryKey: string }, field = 'images'): ImageTagRequest[] {
  return parseSubcomponentLines(lines, field, 'repository:tag or subcomponent=tag', 'api=myacr.azurecr.io/team/api:1.2.3, or web=42')
    .map(({ subcomponent, value: reference, where }) => {
      if (reference.includes('@')) throw new GitopsError(`${where}: a digest is not supported here`, { field, hint: 'give repository:tag or the tag alone' });
      // The tag is after the last ':' that comes after the last '/' (a registry port is before a '/').
      const colon = reference.lastIndexOf(':');
      const hasRepository = reference.includes('/') || colon >= 0;
      if (hasRepository && colon <= reference.lastIndexOf('/')) {
        throw new GitopsError(`${where}: ${reference} has no tag`, { field, hint: 'give repository:tag, e.g. myacr.azurecr.io/team/api:1.2.3' });
      }
      const image: ImageTagRequest = {
        subcomponent,
        imageTag: hasRepository ? reference.slice(colon + 1) : reference,
        imageRepository: hasRepository ? reference.slice(0, colon) : undefined,
        tagKey: keys.tagKey,
        repositoryKey: keys.repositoryKey,
        additionalValues: [],
      };
      try {
        imageTagValues(image);
      } catch (error) {
        if (error instanceof GitopsError) throw new GitopsError(`${where}: ${error.message}`, { field, hint: error.hint, cause: error });
        throw error;
      }
      return image;
    });
}

/**
 * `subcomponent=value` lines of a multi-line input (blank lines skipped, each subcomponent once);
 * `where` names the input and line for errors.
 */
export function parseSubcomponentLines(lines: readonly string[], field: string, valueForm: string, example: string): { subcomponent: string; value: string; where: string }[] {
  const entries: { subcomponent: string; value: string; where: string }[] = [];
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (!line) return;
    const where = `${field} line ${index + 1} (${JSON.stringify(line)})`;
    const eq = line.indexOf('=');
    if (eq <= 0 || eq === line.length - 1) {
      throw new GitopsError(`${where} is not subcomponent=${valueForm}`, { field, hint: `e.g. ${example}` });
    }
    const subcomponent = line.slice(0, eq).trim();
    if (entries.some((e) => e.subcomponent === subcomponent)) {
      throw new GitopsError(`${where}: subcomponent ${subcomponent} is given twice`, { field, hint: 'give each subcomponent once' });
    }
    entries.push({ subcomponent, value: line.slice(eq + 1).trim(), where });
  });
  return entries;
}

const tagGrammar = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const digestGrammar = /^sha256:[a-f0-9]{64}$/;

function inputError(field: string, message: string, hint?: string): GitopsError {
  return new GitopsError(message, { field, hint });
}

function keyPath(text: string, field: string): string[] {
  if (hasControlCharacter(text)) throw inputError(field, `${field} contains a newline or control character`);
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
  if (hasControlCharacter(tag)) throw inputError('imageTag', 'imageTag contains a newline or control character');
  if (!tag.trim()) throw inputError('imageTag', 'imageTag is empty', 'pass the tag the build pushed, e.g. $(Build.BuildNumber)');
  if (!tagGrammar.test(tag)) {
    throw inputError('imageTag', `imageTag ${JSON.stringify(tag)} is not a valid image tag`,
      'a tag is 1-128 letters, digits, "_", "." and "-", not starting with "." or "-"');
  }
  const values: SetValue[] = [];
  const tagPath = keyPath(request.tagKey, 'tagKey');
  values.push(stringValue(tagPath, tag));

  const repository = request.imageRepository?.trim() ?? '';
  if (hasControlCharacter(request.imageRepository ?? '')) {
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


/** Image reference as recorded in the commit trailer: `registry/repo:tag[@digest]`, or the tag alone. */
export function imageDisplay(image: ImageTagRequest): string {
  const repository = image.imageRepository?.trim();
  const digest = image.digest ? `@${image.digest}` : '';
  return repository ? `${repository}:${image.imageTag}${digest}` : `${image.imageTag}${digest}`;
}

export type ImageTagUpdateOptions = Omit<HldUpdateOptions, 'values'> & {
  /** One image, for `target.subcomponent`. */
  image?: ImageTagRequest;
  /** Several images, each with its `subcomponent`, written in one commit (or one pull request). */
  images?: ImageTagRequest[];
  /** Never move a tag backwards (default auto); `any` always writes. */
  tagPolicy?: TagPolicy;
};

/**
 * Writes image tags (and repositories) into the HLD: validation, commit message, one trailer per
 * image, then updateHld. A tag older than the one on the tip (tagPolicy) is left out with a warning.
 */
export function updateImageTag(options: ImageTagUpdateOptions): Promise<HldUpdateResult> {
  const { image, images: many, tagPolicy = 'auto', ...rest } = options;
  const images = many && many.length > 0 ? many : image ? [image] : [];
  if (images.length === 0) throw inputError('imageTag', 'no image to write', 'set imageTag (and subcomponent), or images');
  const several = images.length > 1 || (many !== undefined && many.length > 0);
  const edits: HldEdit[] = images.map((img) => {
    const values = imageTagValues(img);
    assertTagFitsPolicy(img.imageTag, tagPolicy, several ? 'images' : 'imageTag');
    return {
      subcomponent: several ? img.subcomponent ?? '' : rest.target.subcomponent,
      values,
      guard: { path: values[0].path, tag: img.imageTag, policy: tagPolicy },
    };
  });
  const request = several ? { ...rest, edits, subcomponentField: rest.subcomponentField ?? 'images' } : { ...rest, tagGuard: edits[0].guard };
  validateHldUpdate(request);
  const first = images[0];
  const imageText = images.map(imageDisplay).join(', ');
  const subcomponents = edits.map((e) => e.subcomponent || 'root');
  const placeholders = {
    image: imageText,
    repository: images.map((i) => i.imageRepository?.trim() ?? '').filter(Boolean).join(', '),
    tag: images.map((i) => i.imageTag).join(', '),
    digest: first.digest ?? '',
    environment: rest.target.environment,
    subcomponent: subcomponents.join(', '),
    componentPath: rest.target.componentPath,
    branch: rest.target.branch,
    ...rest.commit.placeholders,
  };
  const subject = rest.commit.subject.trim() || (several
    ? `Update ${images.length} images in ${rest.target.environment}: ${images.map((img, i) => `${subcomponents[i]} ${img.imageTag}`).join(', ')}`
    : expandTemplate(defaultImageTagMessage, placeholders));
  // Fail on a template typo now, before anything is cloned.
  if (rest.commit.messageTemplate) expandTemplate(rest.commit.messageTemplate, placeholders);
  const trailers = several
    ? {
        'Gitops-Image': images.map((img, i) => `${subcomponents[i]}=${imageDisplay(img)}`),
        'Gitops-Environment': rest.target.environment,
      }
    : {
        'Gitops-Image': first.imageRepository?.trim() ? imageText : undefined,
        'Gitops-Image-Tag': first.imageTag,
        'Gitops-Environment': rest.target.environment,
        'Gitops-Subcomponent': rest.target.subcomponent || undefined,
      };
  return updateHld({
    ...request,
    values: several ? [] : edits[0].values,
    commit: { ...rest.commit, subject, placeholders, trailers: { ...trailers, ...rest.commit.trailers } },
  });
}

/** One line per image left out because the HLD holds a newer tag; '' when none. */
export function keptTagsText(result: HldUpdateResult): string {
  return result.kept
    .map((k) => `${result.file}: ${k.subcomponent || 'root'} ${k.key} already has ${k.current}, newer than ${k.tag}: not written`)
    .join('\n');
}

/** A browser link to a commit on Azure Repos or GitHub; undefined for other remotes (file://, ssh). */
export function commitWebUrl(repositoryUrl: string | undefined, commit: string): string | undefined {
  if (!repositoryUrl || !/^https?:\/\//i.test(repositoryUrl)) return undefined;
  const base = repositoryUrl.replace(/^(https?:\/\/)[^/@]*@/i, '$1').replace(/\/+$/, '').replace(/\.git$/, '');
  return /\/_git\/|github/i.test(base) ? `${base}/commit/${commit}` : undefined;
}

/** The Markdown summary of an image update: file, key, old → new, commit or pull request link. */
/** One line for the task result: the commit, the pull request, or why nothing was committed. */
export function imageTagMessage(result: HldUpdateResult, image: ImageTagRequest | ImageTagRequest[]): string {
  const tags = Array.isArray(image) ? `${image.length} image tags` : `image tag ${image.imageTag}`;
  const kept = keptTagsText(result);
  if (!result.changed && kept) return kept;
  if (!result.changed) return `${result.file} already has ${tags}: nothing to commit`;
  if (result.pullRequestUrl) return `Pull request #${result.pullRequestId} sets ${tags} in ${result.file}: ${result.pullRequestUrl}`;
  return `Set ${tags} in ${result.file} (commit ${result.commitId}, ${result.attempts} attempt${result.attempts === 1 ? '' : 's'})`;
}

export function imageTagSummary(result: HldUpdateResult, image: ImageTagRequest | ImageTagRequest[], repositoryUrl?: string): string {
  const images = Array.isArray(image) ? image : [image];
  const kept = result.kept.map((k) => `${k.subcomponent || 'root'} keeps ${k.key} ${k.current}, newer than ${k.tag}`);
  const unchanged = kept.length > 0 ? `${kept.join('; ')} (tagPolicy: a newer tag is already there)` : undefined;
  // One previous-tag line per image (what a rollback restores).
  const previous = images.map((img) => previousTagLine(result.changes, img.imageTag, result.file, { repositoryUrl, branch: result.branch })).filter(Boolean).join('\n');
  return renderChangeSummary({
    title: images.length === 1 ? `Image tag ${images[0].imageTag}` : `Image tags ${images.map((i) => `${i.subcomponent ?? ''} ${i.imageTag}`.trim()).join(', ')}`,
    changes: result.changes.map((c) => ({
      file: result.file,
      key: changeKey(c),
      oldValue: 'oldValue' in c ? String(c.oldValue) : undefined,
      newValue: String(c.newValue),
    })),
    commit: result.commitId && !result.pullRequestId ? { sha: result.commitId, url: commitWebUrl(repositoryUrl, result.commitId) } : undefined,
    pullRequest: result.pullRequestId !== undefined && result.pullRequestUrl ? { id: result.pullRequestId, url: result.pullRequestUrl } : undefined,
    note: result.changed ? unchanged : unchanged ?? (result.closedPullRequest
      ? `every value was already set; closed the stale pull request #${result.closedPullRequest.id} (${result.closedPullRequest.url})`
      : 'every value was already set'),
  }) + (previous ? `\n${previous}\n` : '');
}
