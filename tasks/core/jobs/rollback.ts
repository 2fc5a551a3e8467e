/**
 * Rollback: write an older image tag of an environment back into the HLD, through the same code
 * path as UpdateImageTag (direct push with retry, or one pull request), with the tag policy
 * overridden and a Gitops-Rollback-From trailer naming the tag it replaced.
 */
import { environmentHistory, rollbackTarget, type HistoryEntry } from '../trace/history';
import { readHistory, type HistoryBounds } from '../trace/log';
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
  const commits = await readHistory({ url, branch: update.target.branch, credential: update.credential, field: '--hld-repo', workDir: update.workDir, logger: update.logger, ...bounds });
  const history = environmentHistory({ hld: commits, hldRepository: url, environment: update.target.environment, subcomponent: update.target.subcomponent });
  const target = rollbackTarget(history, to);
  const current = history.entries[0];
  update.logger.info(`rolling ${update.target.environment}${update.target.subcomponent ? `/${update.target.subcomponent}` : ''} back from ${current.tag} to ${target.tag} (set by HLD commit ${target.hldCommit.slice(0, 12)} at ${target.time})`);
  const image: ImageTagRequest = {
    imageTag: target.tag,
    imageRepository: target.repository,
    tagKey,
    repositoryKey,
    additionalValues: [],
    ...(digestKey && target.digest ? { digest: target.digest, digestKey } : {}),
  };
  const hld = await updateImageTag({
    ...update,
    image,
    // A rollback writes an older tag on purpose: the one place the tag policy is overridden.
    tagPolicy: 'any',
    commit: {
      ...update.commit,
      subject: update.commit.subject || `Roll back ${update.target.subcomponent || 'root'} in ${update.target.environment} from ${current.tag} to ${target.tag}`,
      trailers: { ...update.commit.trailers, [TRAILERS.rollbackFrom]: current.tag },
    },
  });
  return { from: current, to: target, hld };
}
