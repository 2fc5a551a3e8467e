/**
 * Rollback: write an older image tag of an environment back into the HLD, through the same code
 * path as UpdateImageTag (direct push with retry, or one pull request), with the tag policy
 * overridden and a Gitops-Rollback-From trailer naming the tag it replaced.
 *
 * Trailers only pick the commit: the values restored (tag, repository, digest) are read from the
 * environment's config file as it was at that commit, and only commits that changed that file
 * count, so a commit message cannot make a rollback write a repository the HLD never held.
 */
import { GitopsError } from '../errors';
import { listSelector, parseKeyPath } from '../hld/keypath';
import { assertRelativePath } from '../names';
import { environmentHistory, rollbackTarget, type HistoryEntry } from '../trace/history';
import { readHistoryWith, type HistoryBounds, type HistoryRepository } from '../trace/log';
import { parseYamlValue } from '../yaml/parse';
import { TRAILERS } from '../trace/model';
import { validateHldUpdate, type HldUpdateOptions, type HldUpdateResult } from './updateHld';
import { updateImageTag, type ImageTagRequest } from './updateImageTag';

export interface RollbackOptions extends Omit<HldUpdateOptions, 'values'> {
  to: { tag?: string; previous?: boolean };
  tagKey: string;
  repositoryKey: string;
  /** Also write the digest the restored image was recorded with (when it has one). */
  digestKey?: string;
  bounds: HistoryBounds;
}

export interface RollbackResult {
  from: HistoryEntry;
  to: HistoryEntry;
  hld: HldUpdateResult;
}

export async function rollbackImageTag(options: RollbackOptions): Promise<RollbackResult> {
  const { to, tagKey, repositoryKey, digestKey, bounds, ...update } = options;
  validateHldUpdate(update);
  const url = update.target.repositoryUrl!;
  const { environment, subcomponent, componentPath } = update.target;
  const dir = assertRelativePath(componentPath, 'componentPath', { field: '--component-path' });
  const files = ['yaml', 'json'].map((ext) => `${dir ? `${dir}/` : ''}config/${environment}.${ext}`);
  const { current, target, restored } = await readHistoryWith({
    url, branch: update.target.branch, credential: update.credential, field: '--hld-repo', workDir: update.workDir, logger: update.logger, trees: true, ...bounds,
  }, async (commits, repository) => {
    const changedConfig = await repository.commitsChanging(files);
    const history = environmentHistory({ hld: commits, hldRepository: url, environment, subcomponent, changedConfig });
    const entry = rollbackTarget(history, to);
    return { current: history.entries[0], target: entry, restored: await valuesAt(repository, entry, files, { subcomponent, tagKey, repositoryKey, digestKey }) };
  });
  if (restored.tag !== target.tag) {
    update.logger.warn(`HLD commit ${target.hldCommit.slice(0, 12)} records tag ${target.tag} but its ${restored.file} holds ${restored.tag}: restoring what the file held`);
  }
  update.logger.info(`rolling ${environment}${subcomponent ? `/${subcomponent}` : ''} back from ${current.tag} to ${restored.repository ? `${restored.repository}:` : ''}${restored.tag} (${restored.file} at HLD commit ${target.hldCommit.slice(0, 12)}, ${target.time})`);
  const image: ImageTagRequest = {
    imageTag: restored.tag,
    imageRepository: restored.repository,
    tagKey,
    repositoryKey,
    additionalValues: [],
    ...(digestKey && restored.digest ? { digest: restored.digest, digestKey } : {}),
  };
  const hld = await updateImageTag({
    ...update,
    image,
    // A rollback writes an older tag on purpose: the one place the tag policy is overridden.
    tagPolicy: 'any',
    commit: {
      ...update.commit,
      subject: update.commit.subject || `Roll back ${subcomponent || 'root'} in ${environment} from ${current.tag} to ${restored.tag}`,
      trailers: { ...update.commit.trailers, [TRAILERS.rollbackFrom]: current.tag },
    },
  });
  return { from: current, to: target, hld };
}

interface RestoredValues { file: string; tag: string; repository?: string; digest?: string }

/**
 * The tag, repository and digest the environment's config file held at the entry's HLD commit
 * (the keys the rollback writes); an error when the file or the tag is not there.
 */
async function valuesAt(repository: HistoryRepository, entry: HistoryEntry, files: readonly string[],
  keys: { subcomponent: string; tagKey: string; repositoryKey: string; digestKey?: string }): Promise<RestoredValues> {
  const commit = entry.hldCommit.slice(0, 12);
  for (const file of files) {
    const text = await repository.fileAt(entry.hldCommit, file);
    if (text === undefined) continue;
    const config = parseYamlValue(text, `${file} at HLD commit ${commit}`);
    const prefix = keys.subcomponent ? keys.subcomponent.split('.').flatMap((name) => ['subcomponents', name]) : [];
    const at = (key: string) => scalarAt(config, [...prefix, 'config', ...parseKeyPath(key)]);
    const tag = at(keys.tagKey);
    if (tag === undefined) {
      throw new GitopsError(`${file} at HLD commit ${commit} holds no ${keys.tagKey} for ${keys.subcomponent || 'the component'}`, {
        field: '--tag-key', hint: 'check --tag-key and --subcomponent, or roll back with --to TAG to another entry of `bedrock-gitops history`',
      });
    }
    return { file, tag, repository: at(keys.repositoryKey), digest: keys.digestKey ? at(keys.digestKey) : undefined };
  }
  throw new GitopsError(`HLD commit ${commit} has no ${files[0]}`, { field: '--environment' });
}

function scalarAt(value: unknown, path: readonly string[]): string | undefined {
  let node = value;
  for (const segment of path) {
    const selector = listSelector(segment);
    if (selector) {
      if (!Array.isArray(node)) return undefined;
      node = 'index' in selector
        ? node[selector.index]
        : node.find((item) => item && typeof item === 'object' && String((item as Record<string, unknown>)[selector.key]) === selector.value);
      continue;
    }
    if (!node || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return typeof node === 'string' || typeof node === 'number' ? String(node) : undefined;
}
