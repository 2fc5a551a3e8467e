import { Logger } from '../../tasks/core/logger';
import type { SettingGroup } from '../../tasks/core/settings';

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
   * The settings of the job this command runs (tasks/core/settings): an error naming one of its
   * task inputs names this command's flag instead.
   */
  settings?: SettingGroup;
}

/** A wrong invocation: reported with the command's usage line and exit code 2. */
export class UsageError extends Error {}
