import { Logger } from '../../tasks/core/logger';

/** What a command gets from the process: its arguments and the environment it may pass on. */
export interface CliContext {
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logger: Logger;
  /** Results for people go to stdout; logs go to stderr. */
  print(line: string): void;
}

export interface CliCommand {
  name: string;
  summary: string;
  /** Full `--help` text. */
  help: string;
  run(context: CliContext): Promise<void>;
  /**
   * Task input name (as core errors name it in `field`) -> this command's flag, so that a refusal
   * names the flag the user typed.
   */
  flags?: Readonly<Record<string, string>>;
}

/** A wrong invocation: reported with the command's usage line and exit code 2. */
export class UsageError extends Error {}
