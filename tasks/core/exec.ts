import { spawn } from 'node:child_process';

export interface RunOptions {
  cwd?: string;
  /** Full environment of the child (not merged with process.env unless the caller does it). */
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, then closed. */
  input?: string | Buffer;
  /** Values replaced by *** in the captured output (tokens, auth headers). */
  secrets?: readonly string[];
  /** Kill the child after this many milliseconds. */
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

// scheme://userinfo@ anywhere in a text: a token often travels as the user name (https://TOKEN@host).
// Everything up to the LAST '@' of the authority goes: a password may itself hold an '@' (user:p@ss@host).
const userInfoInUrl = /\b([a-z][a-z0-9+.-]*:\/\/)[^/?#\s]*@/gi;

/**
 * A URL, or any text holding URLs, fit for logs, summaries, errors and commit messages: the user
 * info of every URL is removed, user name included (Azure Repos' `https://org@dev.azure.com/...`
 * prints as `https://dev.azure.com/...`). The one helper for every printed URL.
 */
export function displayUrl(text: string): string {
  return text.replace(userInfoInUrl, '$1');
}

/** Replaces every occurrence of each secret (and of its base64 form) with ***. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    out = out.split(secret).join('***');
  }
  return out;
}

/**
 * Runs a program without a shell and captures its output. Never throws for a non-zero exit:
 * callers decide what a failure means. Output is redacted of the given secrets.
 */
export function runProcess(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      // No stdin pipe unless there is input: one pipe less per child is measurably cheaper to spawn.
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (options.timeoutMs) {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        // A grandchild (git's remote helper) may still hold the pipes: stop waiting for it.
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, options.timeoutMs);
    }
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => {
      if (timer) clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const secrets = options.secrets ?? [];
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: redact(Buffer.concat(out).toString('utf8'), secrets),
        // Programs echo their URLs in errors (git: "unable to access 'https://TOKEN@host/...'").
        stderr: displayUrl(redact(Buffer.concat(err).toString('utf8'), secrets)),
      });
    });
    if (options.input !== undefined) {
      child.stdin!.on('error', () => { /* child exited before reading its input */ });
      child.stdin!.end(options.input);
    }
  });
}
