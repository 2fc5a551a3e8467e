/** Our tasks' definitions (from task.json) and the service schema extended with them. */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { repoRoot, sharedDir } from '../../support/tools';

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

export const serviceSchemaFile = join(sharedDir, 'schemas', 'azure-pipelines-service-schema.json');

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

export function loadServiceSchema(): any {
  return JSON.parse(readFileSync(serviceSchemaFile, 'utf8'));
}

/** Compiling the 1.6 MB schema takes seconds: callers compile once per test file. */
export function compilePipelineSchema(tasks: Map<string, TaskDefinition>): { validate: ValidateFunction; builtIns: Set<string> } {
  const schema = loadServiceSchema();
  const ajv = new Ajv({ strict: false, allErrors: false, validateSchema: false, unicodeRegExp: false });
  return { validate: ajv.compile(extendSchema(schema, tasks)), builtIns: builtInTaskReferences(schema) };
}
