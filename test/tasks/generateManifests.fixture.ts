/** A small HLD (static component + local helm chart) kept in a git repository, for GenerateManifests tests. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { git, testGitEnv, type GitServer } from '../support/gitServer';
import { tempDir } from '../support/tmp';

export const chartFiles: Record<string, string> = {
  'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
  'charts/web/values.yaml': 'replicas: 1\nmessage: hello\n',
  'charts/web/templates/deployment.yaml': [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: {{ .Release.Name }}',
    'spec:',
    '  replicas: {{ .Values.replicas }}',
    '  selector:',
    '    matchLabels: { app: {{ .Release.Name }} }',
    '  template:',
    '    metadata:',
    '      labels: { app: {{ .Release.Name }} }',
    '    spec:',
    '      containers:',
    '        - name: web',
    '          image: nginx:1.27',
    '',
  ].join('\n'),
  'charts/web/templates/configmap.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  message: {{ .Values.message | quote }}\n',
};

export const baseHld: Record<string, string> = {
  ...chartFiles,
  'component.yaml': [
    'name: demo',
    'subcomponents:',
    '  - name: base',
    '    type: static',
    '    path: ./manifests',
    '  - name: web',
    '    type: helm',
    '    method: local',
    '    path: ./charts/web',
    '',
  ].join('\n'),
  'manifests/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n',
  'manifests/quota.yaml': 'apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: quota\n  namespace: web\nspec:\n  hard:\n    pods: "20"\n',
  'config/common.yaml': 'subcomponents:\n  web:\n    namespace: web\n    injectNamespace: true\n    config:\n      message: common\n',
  'config/prod.yaml': 'subcomponents:\n  web:\n    config:\n      replicas: 3\n      message: prod\n',
  'config/prod-east.yaml': 'subcomponents:\n  web:\n    config:\n      replicas: 5\n',
  'config/staging.yaml': 'subcomponents:\n  web:\n    config:\n      replicas: 2\n',
};

/** A working copy of the HLD that commits and pushes to `url`. */
export class HldRepo {
  readonly work = tempDir('gm-hld-work-');
  constructor(readonly url: string, private readonly env: NodeJS.ProcessEnv) {}

  static async create(url: string, env: NodeJS.ProcessEnv, files: Record<string, string> = baseHld): Promise<HldRepo> {
    const repo = new HldRepo(url, env);
    await git(['init', '-q', '-b', 'main'], { cwd: repo.work });
    await git(['remote', 'add', 'origin', url], { cwd: repo.work });
    await repo.commit('Initial HLD', files);
    return repo;
  }

  /** Writes (or with `null` deletes) files, commits, pushes; returns the commit id. */
  async commit(subject: string, files: Record<string, string | null>): Promise<string> {
    for (const [path, content] of Object.entries(files)) {
      const target = join(this.work, path);
      if (content === null) rmSync(target, { recursive: true, force: true });
      else {
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, content);
      }
    }
    await git(['add', '-A'], { cwd: this.work });
    await git(['commit', '-q', '--allow-empty', '-m', subject], { cwd: this.work });
    await git(['push', '-q', 'origin', 'HEAD:refs/heads/main'], { cwd: this.work, env: this.env });
    return git(['rev-parse', 'HEAD'], { cwd: this.work });
  }

  read(path: string): string {
    return readFileSync(join(this.work, path), 'utf8');
  }

  /** A shallow, detached checkout of `commit` without stored credentials, like a pipeline's `checkout` step. */
  async checkout(commit: string): Promise<string> {
    const dir = tempDir('gm-checkout-');
    await git(['init', '-q'], { cwd: dir });
    await git(['remote', 'add', 'origin', this.url], { cwd: dir });
    await git(['fetch', '-q', '--depth=1', 'origin', commit], { cwd: dir, env: this.env });
    await git(['-c', 'advice.detachedHead=false', 'checkout', '-q', commit], { cwd: dir });
    return dir;
  }
}

/** Reads the files of `branch` in a bare repository: path → content. */
export async function branchFiles(bare: string, branch = 'main'): Promise<Record<string, string>> {
  const names = (await git(['--git-dir', bare, 'ls-tree', '-r', '--name-only', branch])).split('\n').filter(Boolean);
  const files: Record<string, string> = {};
  for (const name of names) files[name] = await git(['--git-dir', bare, 'show', `${branch}:${name}`]);
  return files;
}

export async function tipOf(bare: string, branch = 'main'): Promise<string | undefined> {
  return git(['--git-dir', bare, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).catch(() => undefined);
}

export async function messageOf(bare: string, commit: string): Promise<string> {
  return git(['--git-dir', bare, 'log', '-1', '--format=%B', commit]);
}

export function serverEnv(server: GitServer): NodeJS.ProcessEnv {
  return testGitEnv(server.authEnv);
}
