/**
 * Runs a bundled task the way the agent does: `node tasks/<Task>/dist/index.js` with inputs in
 * INPUT_* variables, secrets in SECRET_* and ENDPOINT_AUTH_* variables, and parses the `##vso[`
 * commands it prints (result, output variables, issues, attachments).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './tools';
import { tempDir } from './tmp';

export interface TaskRunOptions {
  inputs?: Record<string, string | boolean | number | undefined>;
  /** Pipeline variables by name (`Build.BuildId`): passed as BUILD_BUILDID. */
  variables?: Record<string, string | undefined>;
  /** Secret pipeline variables (`System.AccessToken`): passed as SECRET_SYSTEM_ACCESSTOKEN. */
  secrets?: Record<string, string>;
  /** Service connections by id. */
  endpoints?: Record<string, { url?: string; scheme?: string; parameters: Record<string, string> }>;
  /** Extra environment (PATH changes, etc.). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
}

export interface TaskRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Succeeded | SucceededWithIssues | Failed | undefined when the task never reported. */
  result?: string;
  message?: string;
  outputs: Record<string, string>;
  /** Every `task.setvariable` (output or not): name → { value, isOutput }. */
  variables: Record<string, { value: string; isOutput: boolean }>;
  errors: string[];
  warnings: string[];
  /** Attachments added with `task.addattachment`: type, name and file content. */
  attachments: { type: string; name: string; content: string }[];
  /** Values registered with `task.setsecret`. */
  secretsRegistered: string[];
}

const varKey = (name: string) => name.replace(/\./g, '_').replace(/ /g, '_').toUpperCase();

/** Unescapes a ##vso property or message value. */
function unescape(text: string): string {
  return text.replace(/%3B/g, ';').replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%5D/g, ']').replace(/%25/g, '%');
}

export function parseCommands(stdout: string): Omit<TaskRun, 'code' | 'stdout' | 'stderr'> {
  const run: Omit<TaskRun, 'code' | 'stdout' | 'stderr'> = {
    outputs: {}, variables: {}, errors: [], warnings: [], attachments: [], secretsRegistered: [],
  };
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^##vso\[([a-z]+\.[a-z]+)([^\]]*)\](.*)$/.exec(line);
    if (!m) continue;
    const [, command, rawProps, rawMessage] = m;
    const props: Record<string, string> = {};
    for (const part of rawProps.trim().split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0) props[part.slice(0, eq).trim()] = unescape(part.slice(eq + 1));
    }
    const message = unescape(rawMessage);
    switch (command) {
      case 'task.complete':
        run.result = props.result;
        run.message = message;
        break;
      case 'task.setvariable':
        run.variables[props.variable] = { value: message, isOutput: props.isOutput === 'true' };
        if (props.isOutput === 'true') run.outputs[props.variable] = message;
        break;
      case 'task.issue':
      case 'task.logissue':
        (props.type === 'error' ? run.errors : run.warnings).push(message);
        break;
      case 'task.addattachment':
        run.attachments.push({ type: props.type, name: props.name, content: readFileSync(message, 'utf8') });
        break;
      case 'task.setsecret':
        run.secretsRegistered.push(message);
        break;
    }
  }
  return run;
}

export function runTask(task: string, options: TaskRunOptions = {}): Promise<TaskRun> {
  const agentTemp = tempDir('agent-temp-');
  const work = options.cwd ?? tempDir('agent-work-');
  mkdirSync(work, { recursive: true });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    LANG: 'C.UTF-8',
    GIT_TERMINAL_PROMPT: '0',
    AGENT_TEMPDIRECTORY: agentTemp,
    AGENT_VERSION: '4.260.0',
    SYSTEM_DEFAULTWORKINGDIRECTORY: work,
  };
  for (const [name, value] of Object.entries(options.inputs ?? {})) {
    if (value !== undefined) env[`INPUT_${varKey(name)}`] = String(value);
  }
  for (const [name, value] of Object.entries(options.variables ?? {})) {
    if (value !== undefined) env[varKey(name)] = value;
  }
  for (const [name, value] of Object.entries(options.secrets ?? {})) {
    env[`SECRET_${varKey(name)}`] = value;
  }
  for (const [id, endpoint] of Object.entries(options.endpoints ?? {})) {
    const key = varKey(id);
    if (endpoint.url) env[`ENDPOINT_URL_${key}`] = endpoint.url;
    env[`ENDPOINT_AUTH_${key}`] = JSON.stringify({ scheme: endpoint.scheme ?? 'UsernamePassword', parameters: endpoint.parameters });
    env[`ENDPOINT_AUTH_SCHEME_${key}`] = endpoint.scheme ?? 'UsernamePassword';
    for (const [param, value] of Object.entries(endpoint.parameters)) {
      env[`ENDPOINT_AUTH_PARAMETER_${key}_${param.toUpperCase()}`] = value;
    }
  }
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const script = join(repoRoot, 'tasks', task, 'dist', 'index.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({ code: code ?? 1, stdout, stderr, ...parseCommands(stdout) });
    });
  });
}

/**
 * Asserts no secret appears in what a user could see: stdout and stderr (except the
 * `##vso[task.setsecret]` lines, which the agent consumes to mask the value and never shows),
 * attachments, and any extra texts (files, .git/config, remote URLs) the test passes.
 */
export function findLeaks(run: TaskRun, secretValues: string[], extraTexts: Record<string, string> = {}): string[] {
  const visible = (text: string) => text.split(/\r?\n/).filter((l) => !l.startsWith('##vso[task.setsecret]')).join('\n');
  const texts: Record<string, string> = {
    stdout: visible(run.stdout),
    stderr: visible(run.stderr),
    ...Object.fromEntries(run.attachments.map((a) => [`attachment ${a.name}`, a.content])),
    ...extraTexts,
  };
  const leaks: string[] = [];
  for (const secret of secretValues) {
    const forms = [secret, Buffer.from(secret).toString('base64'), Buffer.from(`:${secret}`).toString('base64')];
    for (const [where, text] of Object.entries(texts)) {
      if (forms.some((f) => text.includes(f))) leaks.push(`${where} contains a secret`);
    }
  }
  return leaks;
}
