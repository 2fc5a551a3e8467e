import { GitopsError } from '../errors';
import type { RenderedEnvironmentSet } from '../render';
import { parseResources } from '../report';
import type { TreeDiff } from '../report';

/** Kubernetes objects in a set of files; files that are not Kubernetes YAML count for nothing. */
function countResources(files: readonly { path: string; content: string }[]): number {
  return files.reduce((sum, file) => sum + (parseResources(file.path, file.content)?.length ?? 0), 0);
}

/**
 * Refuses a sync that would leave an environment folder that holds Kubernetes resources with
 * none: a broken HLD change (a disabled root, a wrong config) must not wipe a cluster.
 * `diff` is the manifest repository's current state against the render.
 */
export function assertNoEnvironmentEmptied(diff: TreeDiff, sets: readonly RenderedEnvironmentSet[], folders: readonly string[]): void {
  diff.environments.forEach((environment, index) => {
    const rendered = countResources(sets[index].files);
    if (rendered > 0) return;
    const removed = environment.resources.filter((r) => r.change === 'removed').length;
    if (removed === 0) return;
    throw new GitopsError(
      `refusing to publish: environment folder "${folders[index]}" holds ${removed} Kubernetes resource(s) in the manifest repository and the render leaves it with none`,
      {
        field: 'allowEmptyOutput',
        hint: 'check the HLD change (disabled or removed components, wrong environment name); set allowEmptyOutput to true if emptying it is intended',
      },
    );
  });
}
