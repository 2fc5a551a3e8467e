/**
 * Checks on an expanded pipeline that the schema cannot express: task references and their
 * inputs, output-variable references, names, repository aliases, declared parameters.
 */
import type { Value } from './expressions';
import type { TaskDefinition } from './tasks';

type Mapping = { [key: string]: Value };
const isMapping = (v: Value | undefined): v is Mapping => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface StepInfo { name?: string; task?: string; inputs: Mapping; script?: string }
export interface JobInfo { name: string; deployment: boolean; dependsOn?: string[]; steps: StepInfo[]; node: Mapping }
export interface StageInfo { name: string; dependsOn?: string[]; jobs: JobInfo[]; node: Mapping }

const scriptKeys = ['script', 'bash', 'pwsh', 'powershell'];
const idPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

function listOf(value: Value | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (Array.isArray(value)) return value.map(String);
  return undefined;
}

function stepsOfJob(job: Mapping): Value[] {
  if (Array.isArray(job.steps)) return job.steps;
  const steps: Value[] = [];
  const strategy = job.strategy;
  if (isMapping(strategy)) {
    for (const kind of Object.values(strategy)) {
      if (!isMapping(kind)) continue;
      for (const hook of Object.values(kind)) {
        if (isMapping(hook) && Array.isArray(hook.steps)) steps.push(...hook.steps);
        if (isMapping(hook)) for (const sub of Object.values(hook)) if (isMapping(sub) && Array.isArray(sub.steps)) steps.push(...sub.steps);
      }
    }
  }
  return steps;
}

export function model(pipeline: Mapping): StageInfo[] {
  const toJob = (job: Mapping): JobInfo => ({
    name: String(job.job ?? job.deployment ?? ''),
    deployment: 'deployment' in job,
    dependsOn: listOf(job.dependsOn),
    node: job,
    steps: stepsOfJob(job).filter(isMapping).map((s) => ({
      name: typeof s.name === 'string' ? s.name : undefined,
      task: typeof s.task === 'string' ? s.task : undefined,
      inputs: isMapping(s.inputs) ? s.inputs : {},
      script: scriptKeys.map((k) => s[k]).find((v): v is string => typeof v === 'string'),
    })),
  });
  if (Array.isArray(pipeline.stages)) {
    return pipeline.stages.filter(isMapping).map((stage) => ({
      name: String(stage.stage ?? ''),
      dependsOn: listOf(stage.dependsOn),
      node: stage,
      jobs: Array.isArray(stage.jobs) ? stage.jobs.filter(isMapping).map(toJob) : [],
    }));
  }
  const jobs = Array.isArray(pipeline.jobs)
    ? pipeline.jobs.filter(isMapping).map(toJob)
    : Array.isArray(pipeline.steps) ? [toJob({ job: '__job', steps: pipeline.steps })] : [];
  return [{ name: '__stage', jobs, node: pipeline }];
}

/** Evaluates a task.json visibleRule (`a = x`, `a != x`, `&&`, `||`) against input values. */
export function isVisible(rule: string | undefined, values: Record<string, string>): boolean {
  if (!rule) return true;
  return rule.split('||').some((any) => any.split('&&').every((term) => {
    const m = /^\s*([A-Za-z0-9]+)\s*(!=|=)\s*(.*?)\s*$/.exec(term);
    if (!m) throw new Error(`cannot read visibleRule '${rule}'`);
    const actual = (values[m[1]] ?? '').toLowerCase();
    return m[2] === '=' ? actual === m[3].toLowerCase() : actual !== m[3].toLowerCase();
  }));
}

function outputsOf(step: StepInfo, tasks: Map<string, TaskDefinition>): Set<string> | undefined {
  if (step.task) {
    const definition = tasks.get(step.task);
    return definition ? new Set((definition.outputVariables ?? []).map((o) => o.name)) : undefined;
  }
  if (step.script) {
    const names = new Set<string>();
    for (const m of step.script.matchAll(/##vso\[task\.setvariable variable=([A-Za-z0-9_]+);([^\]]*)\]/gi)) {
      if (/isOutput=true/i.test(m[2])) names.add(m[1]);
    }
    return names;
  }
  return new Set();
}

/** Predefined variable namespaces: `$(Build.BuildId)` and the like are not step outputs. */
const predefined = new Set(['agent', 'build', 'system', 'release', 'pipeline', 'environment', 'resources', 'strategy', 'checks', 'deployment', 'task', 'tf']);

function collectStrings(value: Value, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => collectStrings(v, out));
  else if (isMapping(value)) Object.values(value).forEach((v) => collectStrings(v, out));
  return out;
}

export interface CheckOptions {
  tasks: Map<string, TaskDefinition>;
  builtIns: Set<string>;
  /** Repository aliases a pipeline declares; undefined for a template checked on its own. */
  repositories?: Set<string>;
  /**
   * False for a template checked on its own: its `dependsOn` may name stages or jobs of the
   * pipeline that uses it.
   */
  complete: boolean;
}

/**
 * Items of `stages:` and `jobs:` lists that are not a stage, job or deployment (after expansion,
 * a template reference is already spliced in). The service fails the run's expansion on them with
 * "Unexpected value '<key>'": our templates insert such an item on purpose to stop a bad
 * parameter combination with a message (`'ERROR: ...': error`).
 */
export function unexpectedItems(pipeline: Mapping): string[] {
  const problems: string[] = [];
  const check = (items: Value | undefined, kinds: string[], where: string) => {
    if (!Array.isArray(items)) return;
    for (const item of items) {
      if (!isMapping(item)) problems.push(`${where}: unexpected value ${JSON.stringify(item)} (the service fails expansion)`);
      else if (!kinds.some((k) => k in item)) problems.push(`${where}: unexpected value '${Object.keys(item)[0]}' (the service fails expansion)`);
    }
  };
  check(pipeline.stages, ['stage'], 'stages');
  check(pipeline.jobs, ['job', 'deployment'], 'jobs');
  for (const stage of Array.isArray(pipeline.stages) ? pipeline.stages.filter(isMapping) : []) {
    check(stage.jobs, ['job', 'deployment'], `stage ${String(stage.stage)}: jobs`);
  }
  return problems;
}

export function checkPipeline(pipeline: Mapping, options: CheckOptions): string[] {
  const problems: string[] = [...unexpectedItems(pipeline)];
  const stages = model(pipeline);
  const stageNames = stages.map((s) => s.name);
  for (const [index, stage] of stages.entries()) {
    if (stage.name !== '__stage' && !idPattern.test(stage.name)) problems.push(`stage id '${stage.name}' must be letters, digits and underscores`);
    if (stageNames.indexOf(stage.name) !== index) problems.push(`stage '${stage.name}' is defined twice`);
    for (const dependency of options.complete ? stage.dependsOn ?? [] : []) {
      if (!stageNames.includes(dependency)) problems.push(`stage '${stage.name}' depends on unknown stage '${dependency}'`);
    }
    const jobNames = stage.jobs.map((j) => j.name);
    for (const [jobIndex, job] of stage.jobs.entries()) {
      const where = `${stage.name}/${job.name}`;
      if (job.name !== '__job' && !idPattern.test(job.name)) problems.push(`job id '${job.name}' must be letters, digits and underscores`);
      if (jobNames.indexOf(job.name) !== jobIndex) problems.push(`job '${where}' is defined twice`);
      for (const dependency of options.complete ? job.dependsOn ?? [] : []) {
        if (!jobNames.includes(dependency)) problems.push(`job '${where}' depends on unknown job '${dependency}'`);
      }
      const stepNames = job.steps.map((s) => s.name).filter((n): n is string => n !== undefined);
      for (const [i, name] of stepNames.entries()) {
        if (!idPattern.test(name)) problems.push(`${where}: step name '${name}' must be letters, digits and underscores`);
        if (stepNames.indexOf(name) !== i) problems.push(`${where}: step name '${name}' is used twice`);
      }
      for (const step of job.steps) problems.push(...checkTaskStep(step, where, options));
      if (options.repositories) {
        for (const raw of stepsOfJob(job.node)) {
          if (isMapping(raw) && typeof raw.checkout === 'string' && !['self', 'none'].includes(raw.checkout) && !options.repositories.has(raw.checkout)) {
            problems.push(`${where}: checkout '${raw.checkout}' is not a repository declared in resources.repositories`);
          }
        }
      }
      problems.push(...checkReferences(collectStrings(job.node), stages, stage, job, options.tasks));
    }
  }
  return problems;
}

function checkTaskStep(step: StepInfo, where: string, options: CheckOptions): string[] {
  if (!step.task) return [];
  const label = `${where}: ${step.task}${step.name ? ` (${step.name})` : ''}`;
  const definition = options.tasks.get(step.task);
  if (!definition) {
    if (options.builtIns.has(step.task.toLowerCase())) return [];
    const sameName = [...options.tasks.keys()].find((k) => k.split('@')[0] === step.task!.split('@')[0]);
    return [`${label}: unknown task${sameName ? ` (we ship ${sameName})` : ''}`];
  }
  const problems: string[] = [];
  const byName = new Map(definition.inputs.map((i) => [i.name, i]));
  const values: Record<string, string> = {};
  for (const input of definition.inputs) values[input.name] = input.defaultValue ?? '';
  for (const [name, value] of Object.entries(step.inputs)) {
    const input = byName.get(name);
    if (!input) { problems.push(`${label}: input '${name}' does not exist`); continue; }
    const text = typeof value === 'string' ? value : '';
    if (typeof value !== 'string') problems.push(`${label}: input '${name}' must be a string`);
    values[name] = text;
    const deferred = /\$[([]/.test(text);
    if (!deferred && input.type === 'boolean' && !/^(true|false)$/i.test(text)) problems.push(`${label}: input '${name}' must be true or false, not '${text}'`);
    if (!deferred && input.type === 'pickList' && input.options && !(text in input.options)) {
      problems.push(`${label}: input '${name}' must be one of ${Object.keys(input.options).join(', ')}, not '${text}'`);
    }
  }
  for (const input of definition.inputs) {
    if (!input.required || (input.defaultValue ?? '') !== '') continue;
    if (!isVisible(input.visibleRule, values)) continue;
    if ((values[input.name] ?? '') === '') problems.push(`${label}: required input '${input.name}' is not given`);
  }
  for (const [name] of Object.entries(step.inputs)) {
    const input = byName.get(name);
    if (input && !isVisible(input.visibleRule, values)) problems.push(`${label}: input '${name}' is set but hidden by its visibleRule '${input.visibleRule}' (it has no effect)`);
  }
  return problems;
}

function checkReferences(strings: string[], stages: StageInfo[], stage: StageInfo, job: JobInfo, tasks: Map<string, TaskDefinition>): string[] {
  const problems: string[] = [];
  const where = `${stage.name}/${job.name}`;
  const resolveOutput = (target: JobInfo, key: string, text: string) => {
    const parts = key.split('.');
    let stepAndVariable = parts;
    if (target.deployment) {
      if (parts.length !== 3 || parts[0] !== target.name) {
        problems.push(`${where}: '${text}': outputs of deployment job '${target.name}' are read as '${target.name}.<step>.<variable>'`);
        return;
      }
      stepAndVariable = parts.slice(1);
    } else if (parts.length !== 2) {
      problems.push(`${where}: '${text}': outputs of job '${target.name}' are read as '<step>.<variable>'`);
      return;
    }
    const [stepName, variable] = stepAndVariable;
    const step = target.steps.find((s) => s.name === stepName);
    if (!step) { problems.push(`${where}: '${text}': job '${target.name}' has no step named '${stepName}'`); return; }
    const outputs = outputsOf(step, tasks);
    if (!outputs?.has(variable)) problems.push(`${where}: '${text}': step '${stepName}' does not set output '${variable}'`);
  };
  const previousStage = stages[stages.indexOf(stage) - 1];
  const stageDependencies = stage.dependsOn ?? (previousStage ? [previousStage.name] : []);
  for (const text of strings) {
    for (const m of text.matchAll(/stageDependencies\.([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)\.outputs\['([^']+)'\]/g)) {
      const target = stages.find((s) => s.name === m[1]);
      const targetJob = target?.jobs.find((j) => j.name === m[2]);
      if (!targetJob) { problems.push(`${where}: '${m[0]}': no job '${m[2]}' in stage '${m[1]}'`); continue; }
      if (!stageDependencies.includes(m[1])) problems.push(`${where}: '${m[0]}': stage '${stage.name}' does not depend on '${m[1]}'`);
      resolveOutput(targetJob, m[3], m[0]);
    }
    for (const m of text.matchAll(/(?<![A-Za-z])dependencies\.([A-Za-z0-9_]+)\.outputs\['([^']+)'\]/g)) {
      const targetJob = stage.jobs.find((j) => j.name === m[1]);
      if (!targetJob) { problems.push(`${where}: '${m[0]}': no job '${m[1]}' in stage '${stage.name}'`); continue; }
      if (!(job.dependsOn ?? []).includes(m[1])) problems.push(`${where}: '${m[0]}': job '${job.name}' does not depend on '${m[1]}'`);
      resolveOutput(targetJob, m[2], m[0]);
    }
    for (const m of text.matchAll(/\$\(([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)\)/g)) {
      if (predefined.has(m[1].toLowerCase())) continue;
      resolveOutput({ ...job, deployment: false }, `${m[1]}.${m[2]}`, m[0]);
    }
  }
  return problems;
}

/** Every `parameters.x` inside `${{ }}` in a file's text must be a declared parameter. */
export function undeclaredParameters(text: string, declared: string[]): string[] {
  const used = new Set<string>();
  for (const block of text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)) {
    for (const m of block[1].matchAll(/\bparameters\.([A-Za-z_][A-Za-z0-9_-]*)/g)) used.add(m[1]);
    if (/\bparameters\s*\[/.test(block[1])) used.add('(parameters[...] indexing is not checked: use parameters.name)');
  }
  return [...used].filter((name) => !declared.includes(name));
}
