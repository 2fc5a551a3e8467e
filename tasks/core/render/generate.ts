import { mkdir, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix, relative } from 'node:path';
import { stringify } from 'yaml';
import { WorkLimiter } from './bounded';
import { allSettledOrThrow } from '../settle';
import { ComponentNode, environmentSetName } from '../hld/model';
import { assertEnvironmentsConfigured } from '../hld/environments';
import { boundaryLabel, loadTree } from '../hld/tree';
import { validateStaticDirectory } from '../hld/component';
import { checkoutRoot, realPathInside } from '../paths';
import { assertPlainName, assertRelativePath } from '../names';
import { cacheKey, exists, hashDirectory } from './cache';
import { chartDirectory, componentError, flattenTree, installNode, materializeGitComponent, runHooks, saveInstallRecord, staticDirectory } from './install';
import { injectNamespace, joinStaticFiles, normalizeHelmOutput } from './manifests';
import { isYamlSyntaxError, loadYamlDocuments, readYamlText } from '../yaml/parse';
import { renderKustomize } from './kustomize';
import { RenderOptions, RenderSession, withSession } from './session';
import { FetchCounts } from './sources';

export interface GenerateOptions extends RenderOptions {
  /** Each set is rendered on its own, highest precedence first: `[['prod-east', 'prod'], ['staging']]`; `[]` = common. */
  environmentSets: string[][];
  /** `<outputDir>/<set name>/` is replaced for every set rendered. */
  outputDir: string;
  /** Render an environment that no component has a config file for (Fabrikate did; default: refused as a typo). */
  allowEnvironmentsWithoutConfig?: boolean;
}

export interface RenderedFile {
  /** Relative to the environment set's folder, posix separators: `infra/jaeger.yaml`. */
  path: string;
  content: string;
}

export interface RenderedEnvironmentSet {
  /** Folder name: `prod-east-prod`, or `common`. */
  name: string;
  /** Sorted by path. */
  files: RenderedFile[];
}

export interface RenderStats {
  /** `helm template` processes run. */
  helmTemplates: number;
  /** Renders taken from the render cache of an earlier run. */
  renderCacheHits: number;
  /** Renders shared with an identical one earlier in this run (e.g. across environment sets). */
  sharedRenders: number;
  fetches: FetchCounts;
}

export interface RenderedTree {
  environmentSets: RenderedEnvironmentSet[];
  stats: RenderStats;
}

/**
 * Installs and renders the HLD for every environment set and writes Fabrikate's layout:
 * `<outputDir>/<set>/<logicalPath>/<name>.yaml`. Nothing is written unless every component of
 * every set rendered. Same inputs give the same bytes.
 */
export async function generate(options: GenerateOptions): Promise<RenderedTree> {
  return withSession(options, async (session) => {
    const sets = options.environmentSets.length === 0 ? [[]] : options.environmentSets;
    for (const set of sets) {
      set.forEach((environment) => assertPlainName(environment, 'environment', { field: 'environments' }));
      if (set.includes('common')) {
        session.logger.warn(
          `environment "common" is always the lowest layer, so naming it (${set.join(' ')}) merges config/common.yaml once. ` +
            'Deliberate difference: Fabrikate merged it twice, which repeated the items of every list in it; list the other environments only to silence this',
        );
      }
    }
    const stats: RenderStats = { helmTemplates: 0, renderCacheHits: 0, sharedRenders: 0, fetches: session.fetcher.counts };
    const renderer = new NodeRenderer(session, stats);
    await session.access.load(session.hldDir, session.hldDir);

    // Each node is installed and rendered (hooks included) before its children are loaded, as in
    // Fabrikate's WalkComponentTree; siblings and environment sets proceed concurrently, at most
    // `concurrency` nodes at a time.
    const limiter = new WorkLimiter(session.concurrency);
    const rendered = new Map<ComponentNode, string>();
    const trees = await allSettledOrThrow(sets.map((set) =>
      loadTree(session.hldDir, set, {
        logger: session.logger,
        materialize: (definition, parentDir) => limiter.run(() => materializeGitComponent(session, definition, parentDir)),
        visit: (node) => limiter.run(async () => {
          await installNode(session, node);
          rendered.set(node, await renderer.render(node));
        }),
      }),
    ));
    // Checked once the trees are loaded (git components may hold an environment's config), before
    // anything is written.
    if (!options.allowEnvironmentsWithoutConfig) assertEnvironmentsConfigured(sets, trees);
    const jobs = trees.flatMap((tree, setIndex) => flattenTree(tree).map((node) => ({ setIndex, node })));
    const outputs = jobs.map(({ node }) => rendered.get(node)!);

    const environmentSets: RenderedEnvironmentSet[] = sets.map((set) => ({ name: environmentSetName(set), files: [] }));
    const owners = sets.map(() => new Map<string, ComponentNode>());
    jobs.forEach(({ setIndex, node }, index) => {
      const path = outputPath(node);
      const owner = owners[setIndex].get(path);
      const files = environmentSets[setIndex].files;
      if (owner) {
        // A wrapper component and its helm/static child of the same name: Fabrikate wrote the
        // wrapper's empty file first and the child's manifests over it. Keep the manifests.
        if (owner.definition.type === 'component' || node.definition.type === 'component') {
          if (node.definition.type !== 'component') {
            owners[setIndex].set(path, node);
            files.find((file) => file.path === path)!.content = outputs[index];
          }
          return;
        }
        throw componentError(node.definition, 'name', `renders to ${path}, as does component "${owner.definition.name}" (${owner.definition.origin.file})`,
          'give one of them another name (Fabrikate kept whichever it wrote last)');
      }
      owners[setIndex].set(path, node);
      files.push({ path, content: outputs[index] });
    });
    for (const set of environmentSets) {
      set.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      await writeEnvironmentSet(options.outputDir, set);
    }
    await saveInstallRecord(session);
    session.logger.info(
      `rendered ${jobs.length} components in ${sets.length} environment set(s): ${stats.helmTemplates} helm template run(s), ${stats.renderCacheHits} from cache, ${stats.sharedRenders} shared`,
    );
    return { environmentSets, stats };
  });
}

/**
 * The values file handed to helm. Every string and key is double-quoted and keys are sorted, so
 * helm's YAML reader (YAML 1.1-like) gives each value the type it has in our config: a string
 * `5640e21`, `on` or `0644` stays a string; numbers, booleans and null stay what they are.
 */
export function helmValues(values: Record<string, unknown>): string {
  return stringify(values, { sortMapEntries: true, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'QUOTE_DOUBLE', lineWidth: 0, aliasDuplicateObjects: false });
}

function outputPath(node: ComponentNode): string {
  const logical = assertRelativePath(node.logicalPath, 'logical path', { file: node.definition.origin.file });
  return posix.join(logical, `${node.definition.name}.yaml`);
}

async function writeEnvironmentSet(outputDir: string, set: RenderedEnvironmentSet): Promise<void> {
  const root = join(outputDir, set.name);
  await rm(root, { recursive: true, force: true });
  for (const file of set.files) {
    const target = join(root, ...file.path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content);
  }
}

/** Produces one node's manifest text, with its generate hooks around it. */
class NodeRenderer {
  constructor(private readonly session: RenderSession, private readonly stats: RenderStats) {}

  async render(node: ComponentNode): Promise<string> {
    const definition = node.definition;
    await runHooks(this.session, definition, 'before-generate', node.directory, { boundary: node.boundary, remoteSource: node.remoteSource });
    let manifest = '';
    if (definition.type === 'helm') manifest = await this.helm(node);
    else if (definition.type === 'static') manifest = await this.static(node);
    else if (definition.type === 'kustomize') manifest = await renderKustomize(this.session, node);
    await runHooks(this.session, definition, 'after-generate', node.directory, { boundary: node.boundary, remoteSource: node.remoteSource });
    return manifest;
  }

  private async static(node: ComponentNode): Promise<string> {
    const boundary = node.boundary ?? (await checkoutRoot(this.session.hldDir));
    // Checked here, after the hooks that may create the folder.
    if (node.definition.method === 'local') {
      await validateStaticDirectory(node.directory, node.definition, { root: boundary, label: boundaryLabel(boundary, this.session.hldDir) });
    }
    const folder = await staticDirectory(this.session, node);
    const where = { rootLabel: boundaryLabel(boundary, this.session.hldDir), file: node.definition.origin.file, line: node.definition.origin.line, field: 'path' };
    await realPathInside(boundary, folder, { what: `static component ${node.definition.name}: manifests folder`, ...where });
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      throw componentError(node.definition, 'path', `static manifests folder "${relative(this.session.hldDir, folder) || '.'}" does not exist`, 'set path to the folder that holds the YAML files');
    }
    // Symlinked files are followed when they stay inside; one that leaves is refused, naming it.
    const files: string[] = [];
    for (const entry of entries) {
      if (!entry.isFile() && !entry.isSymbolicLink()) continue;
      const real = await realPathInside(boundary, join(folder, entry.name), { what: `static component ${node.definition.name}: manifest`, ...where });
      if ((await stat(real).catch(() => undefined))?.isFile()) files.push(entry.name);
    }
    files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const contents = await Promise.all(files.map(async (name) => {
      const display = relative(this.session.hldDir, join(folder, name)) || name;
      const text = await readYamlText(join(folder, name), display);
      // Refused here (alias bombs, cycles) so the error names the HLD file; syntax is not judged (Fabrikate copied the bytes).
      try {
        loadYamlDocuments(text, display);
      } catch (error) {
        if (!isYamlSyntaxError(error)) throw error;
      }
      return text;
    }));
    return joinStaticFiles(contents);
  }

  private async helm(node: ComponentNode): Promise<string> {
    const { definition, config } = node;
    const chartDir = await chartDirectory(this.session, node);
    if (!(await exists(join(chartDir, 'Chart.yaml')))) {
      throw componentError(definition, 'path', `no helm chart (Chart.yaml) in "${relative(this.session.hldDir, chartDir) || '.'}"`, 'set path to the chart folder');
    }
    const helm = await this.session.helm();
    const chartHash = await this.session.once(`hash:${chartDir}`, async () => hashDirectory(chartDir, this.session.persistentCache ? this.session.cache.root : undefined));
    const values = helmValues(config.config ?? {});
    const namespace = config.namespace || 'default';
    const key = cacheKey({ chart: chartHash, values, release: definition.name, namespace, helm: helm.version });
    let first = false;
    const output = await this.session.once(`render:${key}`, async () => {
      first = true;
      const cached = await this.session.cache.readRender(key);
      if (cached !== undefined) {
        this.stats.renderCacheHits++;
        return cached;
      }
      const valuesFile = join(this.session.workDir, 'values', `${key}.yaml`);
      await mkdir(dirname(valuesFile), { recursive: true });
      await writeFile(valuesFile, values);
      this.stats.helmTemplates++;
      let stdout: string;
      try {
        stdout = await helm.template({ releaseName: definition.name, chartDir, valuesFile, namespace });
      } catch (error) {
        throw componentError(definition, 'config', (error as Error).message, 'check the chart and the values in config/<env>.yaml', error);
      }
      const normalized = normalizeHelmOutput(stdout);
      await this.session.cache.writeRender(key, normalized);
      return normalized;
    });
    if (!first) this.stats.sharedRenders++;
    return config.injectNamespace && config.namespace ? injectNamespace(output, config.namespace, `helm output of component ${definition.name} (${definition.origin.file})`) : output;
  }
}
