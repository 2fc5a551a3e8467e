/**
 * What a user can set, once per job: each setting's task input name (the key), the CLI flag (or
 * environment variable) that sets the same thing, its default and its allowed values. The task
 * adapters (tasks/<Task>/index.ts) and the CLI commands (cli/commands/*.ts) both read these, so
 * a default or an allowed value is written once, and an error can name the input or the flag.
 */
export interface Setting {
  /** The CLI flag (`--hld-repo`) or, for credentials, the environment variable. */
  flag: string;
  /** Used when the input or flag is empty (as in task.json; test/extension checks they agree). */
  default?: string;
  /** The only values accepted (task.json pickList options). */
  allowed?: readonly string[];
}

/** Settings by task input name. */
export type SettingGroup = Readonly<Record<string, Setting>>;

/** Task input -> CLI flag of every setting in `groups` (later groups win). */
export function flagsOf(...groups: SettingGroup[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (const group of groups) for (const [input, setting] of Object.entries(group)) flags[input] = setting.flag;
  return flags;
}
