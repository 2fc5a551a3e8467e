import { WorkLimiter } from './bounded';
import { loadTree } from '../hld/tree';
import { flattenTree, installNode, materializeGitComponent, saveInstallRecord } from './install';
import { RenderOptions, withSession } from './session';
import { FetchCounts } from './sources';

export interface InstallResult {
  /** Components installed (enabled ones in the common configuration). */
  components: number;
  fetches: FetchCounts;
}

/**
 * `fab install`: fetches every git component, remote chart and http static file of the HLD
 * (common configuration) into its installed place, running the install hooks.
 */
export async function install(options: RenderOptions): Promise<InstallResult> {
  return withSession({ ...options, install: true }, async (session) => {
    await session.access.load(session.hldDir, session.hldDir);
    // A node's install (hooks included) finishes before its children are loaded (Fabrikate's
    // WalkComponentTree order); siblings install concurrently, at most `concurrency` at a time.
    const limiter = new WorkLimiter(session.concurrency);
    const tree = await loadTree(session.hldDir, [], {
      logger: session.logger,
      materialize: (definition, parentDir) => limiter.run(() => materializeGitComponent(session, definition, parentDir)),
      visit: (node) => limiter.run(() => installNode(session, node)),
    });
    const nodes = flattenTree(tree);
    await saveInstallRecord(session);
    session.logger.info(`installed ${nodes.length} components`);
    return { components: nodes.length, fetches: session.fetcher.counts };
  });
}
