import { GitopsError } from '../errors';
import { assertNotOption } from '../names';
import { simpleGit, type GitPluginError, type SimpleGit } from 'simple-git';
import { displayUrl, redact, type RunResult } from '../exec';
import { urlAmbiguity } from '../net';
import type { Logger } from '../logger';
import { secretsOf, type GitAuth } from './auth';

/** The environment variable that carries the auth header to git (read via --config-env). */
const authHeaderVariable = 'GITOPS_GIT_AUTH_HEADER';

export interface RunGitOptions {
  cwd?: string;
  auth?: GitAuth;
  /** Added to the inherited environment (e.g. a PATH or proxy settings). */
  env?: Record<string, string | undefined>;
  logger: Logger;
  /** More strings to redact from output, besides the auth secrets. */
  secrets?: readonly string[];
  /** Kill git after this long; network operations should always set it. */
  timeoutMs?: number;
  input?: string;
}

// scheme://user:password@host — a password in a URL ends up in .git/config, logs and `ps`.
const credentialsInUrl = /\b[a-z][a-z0-9+.-]*:\/\/[^/\s@:]*:[^/\s@]*@/i;

/** Throws when `url` carries a password or token; git remotes must be credential-free. */
export function assertNoCredentialsInUrl(url: string, field = 'repository URL'): void {
  if (credentialsInUrl.test(url)) {
    throw new GitopsError('The git URL contains credentials (user:password@host); they would leak into logs and .git/config', {
      field,
      hint: 'remove them from the URL and use System.AccessToken or a service connection instead',
    });
  }
}

export { displayUrl };

/**
 * The URL to hand to git. When our own auth header authenticates an http(s) remote, git gets the
 * URL as WHATWG URL parses it (the parse credentialAllowedFor and tokenMayTravelTo decide on), in
 * its canonical form, so the host git contacts is the host the decision was about. Its user info
 * is useless to git then and would only show in `ps` and `.git/config`, so it is left out (Azure
 * Repos' `https://org@dev.azure.com/...` works the same without `org@`). Without our header the
 * URL stays as given: its user info may be the only credential.
 */
export function remoteUrl(url: string, authenticated: boolean): string {
  if (!authenticated) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return url;
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}

/** A path on this machine (or a file:// URL): no host in it to misread. */
const localPath = /^(?:[A-Za-z]:[\\/]|[\\/.]|file:)/i;
/** What git reads as a network URL when it is an argument. */
const networkUrlArgument = /^(?!file:)[a-z][a-z0-9+.-]*:\/\//i;

/** Throws when `url` could name another host to git than to our checks (net.ts urlAmbiguity). */
export function assertUnambiguousUrl(url: string, field = 'repository URL'): void {
  const reason = urlAmbiguity(url);
  if (reason) {
    throw new GitopsError(`The git URL ${displayUrl(url)} contains ${reason}: git and this tool could read a different host in it`, {
      field,
      hint: 'write the URL plainly: scheme://host/path, forward slashes only, at most one user name before @',
    });
  }
}

/**
 * A repository URL (or local path) given as an input: one line, no password in it, and nothing
 * git could read as an option. Returns it trimmed; errors name `field`.
 */
export function assertGitUrl(url: string, field: string): string {
  const value = url.trim();
  if (!value) throw new GitopsError(`${field} is empty`, { field, hint: `set ${field} to the repository's clone URL` });
  if (/[\x00-\x1f\x7f]/.test(value)) throw new GitopsError(`${field} contains a newline or control character`, { field });
  assertNoCredentialsInUrl(value, field);
  if (!localPath.test(value)) assertUnambiguousUrl(value, field);
  assertNotOption(value, field, { field });
  return value;
}

/**
 * Variables simple-git guards (every `GIT_*` plus the editor, pager and askpass ones): git gets only
 * those named here, whatever the agent or a pipeline variable sets. Ours (no prompt, no askpass),
 * the commit identity, and the network the agent or `core/network.ts` set up (CA bundle, client
 * certificate, proxy TLS, HTTP tuning). `GIT_DIR`, `GIT_CONFIG_*`, `GIT_SSH_COMMAND`, `GIT_TRACE*`
 * and the rest are dropped: they would make our git read another repository, config or program.
 */
const guardedVariable = /^(GIT_\w*|EDITOR|VISUAL|PAGER|PREFIX|SSH_ASKPASS)$/i;
const passedGitVariable = /^(GIT_TERMINAL_PROMPT|GIT_ASKPASS|SSH_ASKPASS|GIT_(AUTHOR|COMMITTER)_(NAME|EMAIL)|GIT_SSL_\w+|GIT_PROXY_SSL_\w+|GIT_HTTP_\w+)$/;

/** After a deadline git gets SIGINT from simple-git; if it has not exited after this, it is abandoned. */
const abandonAfterMs = 2_000;

let quietDebug = false;

/**
 * simple-git logs each child's spawn options (its environment: the auth header, proxy credentials)
 * and output through `debug` when DEBUG names it: never for ours, whatever DEBUG says.
 */
function silenceSimpleGitDebug(): void {
  if (quietDebug || !process.env.DEBUG) return;
  quietDebug = true;
  const debug: { disable(): string; enable(namespaces: string): void } = require('debug');
  debug.enable([debug.disable(), '-simple-git', '-simple-git:*'].filter(Boolean).join(','));
}

/** The environment git runs with, and the guarded variables in it that simple-git must let through. */
function gitEnvironment(options: RunGitOptions): { env: Record<string, string>; allowed: string[] } {
  // git needs PATH, HOME and the agent's proxy settings, so it inherits this process's environment.
  const merged: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    // Messages in English whatever the agent's locale: push failures are classified by their text.
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GCM_INTERACTIVE: 'never',
    // Empty, not unset: an empty GIT_ASKPASS also overrides a core.askPass in the machine's config.
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
  };
  delete merged[authHeaderVariable];
  const env: Record<string, string> = {};
  const allowed: string[] = [];
  for (const [name, value] of Object.entries(merged)) {
    if (value === undefined) continue;
    if (guardedVariable.test(name)) {
      if (!passedGitVariable.test(name)) continue;
      allowed.push(name);
    }
    env[name] = value;
  }
  if (options.auth) env[authHeaderVariable] = options.auth.header;
  return { env, allowed };
}

/**
 * Runs git non-interactively through simple-git. The auth header travels only in the child's
 * environment (`--config-env`), never in argv, a URL or `.git/config`; all output is redacted.
 * Resolves with the exit code; callers decide what a failure means.
 */
export async function runGit(args: readonly string[], options: RunGitOptions): Promise<RunResult> {
  for (const arg of args) {
    assertNoCredentialsInUrl(arg);
    if (networkUrlArgument.test(arg)) assertUnambiguousUrl(arg);
  }
  const secrets = [...secretsOf(options.auth), ...(options.secrets ?? [])];
  const { env, allowed } = gitEnvironment(options);
  // No `git maintenance run --auto` child after fetch and commit: our clones are short-lived and
  // every process costs milliseconds when many builds race for the same branch.
  // No `ext::` remote (it runs a command) whatever the machine's git config says.
  const fullArgs = ['-c', 'maintenance.auto=false', '-c', 'protocol.ext.allow=never', ...args];
  if (options.auth) fullArgs.unshift(`--config-env=http.extraheader=${authHeaderVariable}`);
  options.logger.debug(displayUrl(redact(`git ${args.join(' ')}`, secrets)));
  const result = await spawnGit(fullArgs, { cwd: options.cwd, env, allowed, input: options.input, timeoutMs: options.timeoutMs, secrets });
  return {
    code: result.code,
    stdout: redact(result.stdout, secrets),
    // git echoes URLs in errors ("unable to access 'https://TOKEN@host/...'").
    stderr: displayUrl(redact(result.stderr, secrets)),
  };
}

interface SpawnGitOptions {
  cwd?: string;
  env: Record<string, string>;
  allowed: string[];
  input?: string;
  timeoutMs?: number;
  /** Redacted from the messages of errors simple-git throws. */
  secrets: readonly string[];
}

/**
 * One git child through simple-git, with simple-git's guards on: it refuses `--upload-pack`,
 * `--receive-pack`, `-c core.sshCommand=...`, `-c alias.*`, `url.*.insteadOf` and the like in argv,
 * and git refuses abbreviated long options. Only the two checks our own fixed arguments trip are
 * off: `protocol.ext.allow=never` is a protocol setting (we only ever turn one off), and the empty
 * GIT_ASKPASS/SSH_ASKPASS above are askpass variables.
 */
async function spawnGit(args: string[], options: SpawnGitOptions): Promise<RunResult> {
  silenceSimpleGitDebug();
  const abort = new AbortController();
  let exited: { exitCode: number | null; stdErr: Buffer[] } | undefined;
  let pipes: NodeJS.ReadableStream[] = [];
  let git: SimpleGit;
  try {
    git = simpleGit({
      baseDir: options.cwd ?? process.cwd(),
      abort: abort.signal,
      allowEnvironment: options.allowed,
      unsafe: { allowUnsafeProtocolOverride: true, allowUnsafeAskPass: true },
      // The exit code and stderr are the caller's to judge: keep them, never make them an exception.
      errors: (_error, result) => {
        exited = result as typeof exited;
        return undefined;
      },
      // Always something, so stdin is closed: git never waits for input nobody sends.
      input: () => options.input ?? emptyInput,
      // Done when the pipes are closed, not 50 ms after git exits: on a busy agent its output may
      // not have been read by then (a push's porcelain status was lost that way). A deadline closes
      // the pipes itself, so a remote helper holding them cannot keep us waiting.
      completion: { onClose: true, onExit: false },
    }).env(options.env);
  } catch (error) {
    throw new GitopsError(`git cannot run in ${options.cwd}: ${redact((error as Error).message, options.secrets)}`);
  }
  git.outputHandler((_command, stdout, stderr) => {
    pipes = [stdout, stderr];
    // simple-git waits 50 ms more after a child that printed nothing (most of ours are --quiet);
    // an empty chunk at the end of stdout tells it the output is complete.
    stdout.once('end', () => stdout.emit('data', emptyInput));
  });

  let timer: NodeJS.Timeout | undefined;
  let abandon: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    if (!options.timeoutMs) return;
    timer = setTimeout(() => {
      abort.abort();
      // A grandchild (git's remote helper) may still hold the pipes: stop reading them.
      for (const pipe of pipes) (pipe as NodeJS.ReadableStream & { destroy(): void }).destroy();
      abandon = setTimeout(resolve, abandonAfterMs);
    }, options.timeoutMs);
  });
  const run = git.raw(args);
  try {
    const stdout = await Promise.race([run, deadline.then(() => '')]);
    if (!exited) return { code: 128, stdout, stderr: `git did not stop within ${abandonAfterMs / 1000} s of its deadline` };
    if (exited.exitCode !== null && exited.exitCode < 0) {
      throw new GitopsError(`git could not be started: ${Buffer.concat(exited.stdErr).toString('utf8').split('\n')[0]}`, {
        hint: 'install git on the agent and put it on the PATH',
      });
    }
    // A child killed by a signal (the deadline) has no exit code.
    return { code: exited.exitCode ?? 128, stdout, stderr: Buffer.concat(exited.stdErr).toString('utf8') };
  } catch (error) {
    if (error instanceof GitopsError) throw error;
    const plugin = (error as GitPluginError).plugin;
    throw new GitopsError(`git was not run: ${displayUrl(redact((error as Error).message, options.secrets))}`, {
      hint: plugin === 'unsafe' || plugin === 'allowEnvironment' ? 'an argument or variable that could run another program was refused' : undefined,
    });
  } finally {
    clearTimeout(timer);
    clearTimeout(abandon);
    run.catch(() => { /* settled after we stopped waiting */ });
  }
}

const emptyInput = Buffer.alloc(0);

/** Like runGit, but a non-zero exit becomes a GitopsError quoting git's (redacted) stderr. */
export async function runGitOrThrow(args: readonly string[], options: RunGitOptions & { what?: string; hint?: string }): Promise<string> {
  const result = await runGit(args, options);
  if (result.code !== 0) {
    throw new GitopsError(`${options.what ?? `git ${args[0]}`} failed: ${lastLines(result.stderr)}`, { hint: options.hint });
  }
  return result.stdout;
}

/** The tail of git's stderr, which is where it says what went wrong. */
export function lastLines(text: string, count = 6): string {
  const lines = text.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim().length > 0);
  return lines.slice(-count).join(' | ') || '(no output)';
}
