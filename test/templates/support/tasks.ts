/** Our tasks' definitions (from task.json) and the service schema extended with them. */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pipelineSchemaFile, repoRoot } from '../../support/tools';

export interface TaskInput {
  name: string;
  type: string;
  defaultValue?: string;
  required?: boolean;
  visibleRule?: string;
  options?: Record<string, string>;
}

export interface TaskDefinition {
  name: string;
  version: { Major: number };
  inputs: TaskInput[];
  outputVariables?: { name: string }[];
}

export function loadOurTasks(root = repoRoot): Map<string, TaskDefinition> {
  const tasks = new Map<string, TaskDefinition>();
  for (const folder of readdirSync(join(root, 'tasks'))) {
    const file = join(root, 'tasks', folder, 'task.json');
    if (!existsSync(file)) continue;
    const task = JSON.parse(readFileSync(file, 'utf8')) as TaskDefinition;
    tasks.set(`${task.name}@${task.version.Major}`, task);
  }
  return tasks;
}

/** Values the agent resolves later: runtime expressions and macros are accepted for typed inputs. */
const deferred = { type: 'string', pattern: '\\$[\\(\\[]' };

function inputSchema(input: TaskInput): object {
  if (input.type === 'boolean') return { anyOf: [{ type: 'string', pattern: '^([Tt]rue|[Ff]alse)$' }, deferred] };
  if (input.type === 'pickList' && input.options) return { anyOf: [{ enum: Object.keys(input.options) }, deferred] };
  return { type: 'string' };
}

/** Adds each task the way the schema defines built-in ones: an enum entry and an inputs shape. */
export function extendSchema(schema: any, tasks: Map<string, TaskDefinition>): any {
  const extended = JSON.parse(JSON.stringify(schema));
  const task = extended.definitions.task;
  for (const [reference, definition] of tasks) {
    task.properties.task.anyOf.push({ description: definition.name, ignoreCase: 'value', enum: [reference] });
    task.anyOf.push({
      properties: {
        task: { pattern: `^${definition.name}@${definition.version.Major}$` },
        inputs: {
          description: `${definition.name} inputs`,
          properties: Object.fromEntries(definition.inputs.map((i) => [i.name, inputSchema(i)])),
          additionalProperties: false,
          required: definition.inputs.filter((i) => i.required && !i.defaultValue && !i.visibleRule).map((i) => i.name),
        },
      },
      required: ['task', 'inputs'],
    });
  }
  return extended;
}

/** Task references the service schema knows (built-in tasks), e.g. `Docker@2`. */
export function builtInTaskReferences(schema: any): Set<string> {
  const known = new Set<string>();
  for (const entry of schema.definitions.task.properties.task.anyOf) {
    for (const reference of entry.enum ?? []) known.add(String(reference).toLowerCase());
  }
  return known;
}

/**
 * The built-in tasks our templates and examples may use. Checked against the service schema's list
 * when the schema is given; used as the list of known tasks either way, so the structural checks
 * give the same answers with or without the schema.
 */
export const allowedBuiltInTasks = ['Docker@2'];

/** Validates an expanded pipeline document's YAML text; returns one line per diagnostic. */
export type SchemaCheck = (yamlText: string) => Promise<string[]>;

/**
 * The service schema (extended with our tasks) as the editor applies it: Microsoft's
 * azure-pipelines-language-service validates the YAML text. Undefined when GITOPS_PIPELINE_SCHEMAS
 * is not set.
 */
export async function pipelineSchemaCheck(tasks: Map<string, TaskDefinition>): Promise<{ check: SchemaCheck; builtIns: Set<string> } | undefined> {
  const file = pipelineSchemaFile('azure-pipelines-service-schema.json');
  if (!file) return undefined;
  const schema = JSON.parse(readFileSync(file, 'utf8'));
  const extended = extendSchema(schema, tasks);
  const service = await loadLanguageService();
  const schemaUri = 'file:///azure-pipelines-service-schema.json';
  const languageService = service.getLanguageService(async () => extended, [], async () => schemaUri);
  languageService.configure({ validate: true, schemas: [{ uri: schemaUri, fileMatch: ['*'] }] });
  const check: SchemaCheck = async (yamlText) => {
    const document = service.TextDocument.create('file:///pipeline.yml', 'yaml', 1, yamlText);
    const diagnostics = await quietly(() => languageService.doValidation(document, service.parse(yamlText)));
    const lines = yamlText.split('\n');
    return diagnostics.map((d) => `line ${d.range.start.line + 1} (${lines[d.range.start.line]?.trim()}): ${d.message}`);
  };
  return { check, builtIns: builtInTaskReferences(schema) };
}

/** The part of azure-pipelines-language-service (a dev dependency) these checks use. */
interface LanguageServiceModule {
  getLanguageService(schemaRequest: (uri: string) => Promise<unknown>, contributions: unknown[], schemaFor: (uri: string) => Promise<string>): {
    configure(settings: { validate: boolean; schemas: { uri: string; fileMatch: string[] }[] }): void;
    doValidation(document: unknown, yaml: unknown): PromiseLike<{ message: string; range: { start: { line: number } } }[]>;
  };
  parse(text: string): unknown;
  TextDocument: { create(uri: string, language: string, version: number, text: string): unknown };
}

async function loadLanguageService(): Promise<LanguageServiceModule> {
  const name = 'azure-pipelines-language-service';
  try {
    return (await import(name)) as LanguageServiceModule;
  } catch (error) {
    throw new Error(`GITOPS_PIPELINE_SCHEMAS is set but ${name} cannot be loaded (run npm install): ${(error as Error).message}`);
  }
}

/** The language service logs its schema lookups with console.log; keep test output readable. */
async function quietly<T>(run: () => PromiseLike<T>): Promise<T> {
  const log = console.log;
  console.log = () => undefined;
  try {
    return await run();
  } finally {
    console.log = log;
  }
}
