import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { GitopsError } from '../errors';
import { runProcess } from '../exec';
import { ComponentNode } from '../hld/model';
import { exists } from './cache';
import { findOnPath } from './helm';
import { componentError, kustomizeSourceDirectory } from './install';
import { normalizeHelmOutput } from './manifests';
import { RenderSession } from './session';

/** One `images:` entry of a kustomization (kustomize's image transformer). */
export interface KustomizeImage {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

const IMAGE_FIELDS = ['name', 'newName', 'newTag', 'digest'] as const;
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/**
 * Renders a `type: kustomize` component: the folder `path` (local, or inside a git `source`)
 * holding a kustomization, built with `kustomize build` (a kustomize on PATH) or
 * `kubectl kustomize`. The component's config may set `images:` (name, newName, newTag, digest)
 * and its `namespace`; they are applied by an overlay around a copy of the folder, so the
 * source is never edited. Output is framed like helm's: `---\n<document>\n` per document.
 */
export async function renderKustomize(session: RenderSession, node: ComponentNode): Promise<string> {
  const { definition, config } = node;
  const folder = await kustomizationFolder(session, node);
  const images = readImages(node);
  const scratch = await mkdtemp(join(await ensureDir(join(session.workDir, 'kustomize')), `${definition.name}-`));
  let target = folder;
  if (images.length > 0 || config.namespace) {
    const base = join(scratch, 'base');
    await cp(folder, base, { recursive: true });
    const overlay = join(scratch, 'overlay');
    await mkdir(overlay);
    // JSON is YAML: every string stays a string (a tag like 5640e21 included).
    const kustomization = { resources: ['../base'], ...(config.namespace ? { namespace: config.namespace } : {}), ...(images.length > 0 ? { images } : {}) };
    await writeFile(join(overlay, 'kustomization.yaml'), `${JSON.stringify(kustomization, null, 2)}\n`);
    target = overlay;
  }
  const tool = await session.once('kustomize-tool', () => locateTool(session));
  if (!tool) {
    throw componentError(definition, 'type', 'kustomize components need kustomize or kubectl on PATH', 'install kubectl (it includes kustomize) or kustomize on the agent');
  }
  const args = basename(tool).startsWith('kubectl') ? ['kustomize', target] : ['build', target];
  const result = await runProcess(tool, args, { cwd: scratch, env: session.env });
  if (result.code !== 0) {
    const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' ');
    throw componentError(definition, 'path', `kustomize failed: ${detail}`, 'check the kustomization and the images/namespace in config/<env>.yaml');
  }
  return normalizeHelmOutput(result.stdout);
}

async function ensureDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}

async function locateTool(session: RenderSession): Promise<string | undefined> {
  if (session.kustomizePath) {
    if (!(await exists(session.kustomizePath))) {
      throw new GitopsError(`kustomize tool ${session.kustomizePath} does not exist`, { field: 'kustomizePath', hint: 'give the path of a kubectl or kustomize binary' });
    }
    return session.kustomizePath;
  }
  const path = session.env.PATH ?? '';
  return (await findOnPath('kustomize', path)) ?? (await findOnPath('kubectl', path));
}

async function kustomizationFolder(session: RenderSession, node: ComponentNode): Promise<string> {
  const { definition } = node;
  let base = node.directory;
  if (definition.method === 'git') {
    base = await kustomizeSourceDirectory(session, node);
  } else if (definition.method !== 'local') {
    throw componentError(definition, 'method', `method "${definition.method}" cannot provide a kustomization`, 'use local (a folder of the HLD) or git');
  }
  const folder = resolve(base, definition.path);
  const inside = relative(base, folder);
  if (inside.startsWith('..')) throw componentError(definition, 'path', `path "${definition.path}" leaves the component's folder`, 'use a folder inside it');
  for (const file of KUSTOMIZATION_FILES) {
    if (await exists(join(folder, file))) return folder;
  }
  throw componentError(definition, 'path', `no kustomization.yaml in "${relative(session.hldDir, folder) || definition.path || '.'}"`, 'set path to the folder that holds kustomization.yaml');
}

/** `config.images`: a list of {name, newName?, newTag?, digest?}; numbers are kept as their text. */
function readImages(node: ComponentNode): KustomizeImage[] {
  const raw = node.config.config.images;
  if (raw === undefined || raw === null) return [];
  const bad = (message: string) => componentError(node.definition, 'config', `config.images ${message}`,
    'write images as a list of maps: - {name: nginx, newTag: "1.27"} (keys name, newName, newTag, digest)');
  if (!Array.isArray(raw)) throw bad('must be a list');
  return raw.map((item, index) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw bad(`[${index}] must be a map`);
    const image: Record<string, string> = {};
    for (const [key, value] of Object.entries(item as Record<string, unknown>)) {
      if (!(IMAGE_FIELDS as readonly string[]).includes(key)) throw bad(`[${index}] has an unknown key "${key}"`);
      if (value === null || value === undefined) continue;
      if (typeof value === 'object') throw bad(`[${index}].${key} must be a single value`);
      image[key] = String(value);
    }
    if (!image.name) throw bad(`[${index}] needs a name (the image name used in the manifests)`);
    return image as unknown as KustomizeImage;
  });
}
