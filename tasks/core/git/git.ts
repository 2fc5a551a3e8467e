import { GitopsError } from '../errors';
import { assertNotOption } from '../names';
import { displayUrl, redact, runProcess, type RunResult } from '../exec';
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
 * The URL to hand to git. When our own auth header authenticates an http(s) remote, the URL's user
 * info is useless to git and would only show in `ps` and `.git/config`, so it is left out (Azure
 * Repos' `https://org@dev.azure.com/...` works the same without `org@`). Without our header the
 * URL stays as given: its user info may be the only credential.
 */
export function remoteUrl(url: string, authenticated: boolean): string {
  return authenticated && /^https?:\/\//i.test(url) ? displayUrl(url) : url;
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
  assertNotOption(value, field, { field });
  return value;
}

/**
 * Runs git non-interactively. The auth header travels only in the child's environment
 * (`--config-env`), never in argv, a URL or `.git/config`; all output is redacted.
 * Resolves with the exit code; callers decide what a failure means.
 */
export async function runGit(args: readonly string[], options: RunGitOptions): Promise<RunResult> {
  for (const arg of args) assertNoCredentialsInUrl(arg);
  const secrets = [...secretsOf(options.auth), ...(options.secrets ?? [])];
  // git needs PATH, HOME and the agent's proxy settings, so it inherits this process's environment.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    // Messages in English whatever the agent's locale: push failures are classified by their text.
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GCM_INTERACTIVE: 'never',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
  };
  delete env[authHeaderVariable];
  // No `git maintenance run --auto` child after fetch and commit: our clones are short-lived and
  // every process costs milliseconds when many builds race for the same branch.
  // No `ext::` remote (it runs a command) whatever the machine's git config says.
  const fullArgs = ['-c', 'maintenance.auto=false', '-c', 'protocol.ext.allow=never', ...args];
  if (options.auth) {
    env[authHeaderVariable] = options.auth.header;
    fullArgs.unshift(`--config-env=http.extraheader=${authHeaderVariable}`);
  }
  options.logger.debug(displayUrl(redact(`git ${args.join(' ')}`, secrets)));
  const result = await runProcess('git', fullArgs, {
    cwd: options.cwd,
    env,
    secrets,
    timeoutMs: options.timeoutMs,
    input: options.input,
  });
  return result;
}

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
