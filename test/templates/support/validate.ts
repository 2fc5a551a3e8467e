/** One entry point: expand a template or pipeline, validate it with the schema, run the checks. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { checkPipeline, undeclaredParameters } from './checks';
import { expandFile, loadYamlFile, parameterDeclarations } from './expand';
import type { Value } from './expressions';
import type { SchemaCheck, TaskDefinition } from './tasks';

export interface Validator {
  /** The service schema check; undefined when GITOPS_PIPELINE_SCHEMAS is not set. */
  schema?: SchemaCheck;
  builtIns: Set<string>;
  tasks: Map<string, TaskDefinition>;
  /** Folder of our templates, i.e. what `resources.repositories` alias `gitops` points at. */
  templatesDir: string;
}

type Mapping = { [key: string]: Value };

function declaredRepositories(document: Value): Map<string, string> {
  const aliases = new Map<string, string>();
  const resources = (document as Mapping | null)?.resources as Mapping | undefined;
  const repositories = resources?.repositories;
  if (Array.isArray(repositories)) {
    for (const r of repositories) {
      if (r && typeof r === 'object' && !Array.isArray(r) && typeof r.repository === 'string') aliases.set(r.repository, String(r.name ?? ''));
    }
  }
  return aliases;
}

/** Schema diagnostics of an expanded document, as the editor shows them for its YAML text. */
export async function schemaErrors(validator: Validator, document: Value): Promise<string[]> {
  if (!validator.schema) return [];
  return validator.schema(yaml.dump(document, { lineWidth: -1, noRefs: true }));
}

/**
 * Problems found in `file` expanded with `parameters`. For a pipeline (a file with
 * `resources.repositories`), repository aliases are checked and every alias naming our templates
 * repository (`repositoryNames` holds its accepted `name:` values) resolves to `templatesDir`.
 */
export async function validateFile(validator: Validator, file: string, parameters: Record<string, Value> = {}, repositoryNames: string[] = []): Promise<string[]> {
  const text = readFileSync(file, 'utf8');
  const raw = loadYamlFile(file);
  const declared = parameterDeclarations(raw, file);
  const problems = undeclaredParameters(text, declared.map((p) => p.name)).map((n) => `${file}: \${{ parameters.${n} }} is not declared`);
  const aliases = declaredRepositories(raw);
  // Only a pipeline has triggers or resources; a template is checked without its caller.
  const isPipeline = raw !== null && typeof raw === 'object' && !Array.isArray(raw) && ['trigger', 'pr', 'resources'].some((k) => k in raw);
  const templateRepositories: Record<string, string> = {};
  for (const [alias, name] of aliases) {
    if (repositoryNames.some((n) => name.toLowerCase() === n.toLowerCase())) templateRepositories[alias] = validator.templatesDir;
  }
  let expanded: Mapping;
  try {
    expanded = expandFile(file, parameters, { repositories: templateRepositories });
  } catch (error) {
    return [...problems, (error as Error).message];
  }
  const document: Mapping = raw && typeof raw === 'object' && !Array.isArray(raw) && raw.parameters ? { parameters: raw.parameters, ...expanded } : expanded;
  problems.push(...(await schemaErrors(validator, document)).map((e) => `${file}: schema: ${e}`));
  problems.push(...checkPipeline(expanded, {
    tasks: validator.tasks,
    builtIns: validator.builtIns,
    repositories: isPipeline ? new Set(aliases.keys()) : undefined,
    complete: isPipeline,
  }).map((p) => `${file}: ${p}`));
  return problems;
}

export const templatesDirOf = (root: string) => join(root, 'pipelines-templates');
