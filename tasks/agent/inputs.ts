/** Typed task inputs with errors that name the input and say what to do. */
import * as tl from 'azure-pipelines-task-lib/task';
import { GitopsError } from '../core/errors';
import { displayUrl } from '../core/exec';
import { hasControlCharacter } from '../core/names';
import type { SettingGroup } from '../core/settings';
import { quietly } from './runTask';

/**
 * The raw input. task-lib would debug-log `name=value` itself; a URL input may carry a token as
 * its user name (https://TOKEN@host/...), so the value is logged here without any URL user info.
 */
function rawInput(name: string): string {
  const value = quietly(() => tl.getInput(name, false)) ?? '';
  tl.debug(`${name}=${displayUrl(value)}`);
  return value;
}

export function stringInput(name: string, options: { required?: boolean; defaultValue?: string } = {}): string {
  const value = rawInput(name).trim();
  if (!value && options.required) {
    throw new GitopsError(`input "${name}" is required`, { field: name, hint: `set ${name} in the task's inputs` });
  }
  // Multi-line inputs (commitMessage) keep their line breaks; core checks single-line values itself.
  if (hasControlCharacter(value, { multiLine: true })) {
    throw new GitopsError(`input "${name}" contains control characters`, { field: name });
  }
  return value || options.defaultValue || '';
}

/** A text input of a job's settings (tasks/core/settings), with the setting's default: the name is type-checked. */
export function settingInput<G extends SettingGroup>(settings: G, name: keyof G & string): string {
  return stringInput(name, { defaultValue: settings[name].default });
}

export function optionalInput(name: string): string | undefined {
  return stringInput(name) || undefined;
}

export function boolInput(name: string, defaultValue = false): boolean {
  const value = stringInput(name).toLowerCase();
  if (!value) return defaultValue;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new GitopsError(`input "${name}" must be true or false, not ${JSON.stringify(value)}`, { field: name });
}

export function intInput(name: string, defaultValue: number, range: { min: number; max: number }): number {
  const value = stringInput(name);
  if (!value) return defaultValue;
  const n = Number(value);
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    throw new GitopsError(`input "${name}" must be a whole number from ${range.min} to ${range.max}, not ${JSON.stringify(value)}`, { field: name });
  }
  return n;
}

export function pickInput<T extends string>(name: string, allowed: readonly T[], defaultValue: T): T {
  const value = stringInput(name);
  if (!value) return defaultValue;
  const match = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (!match) {
    throw new GitopsError(`input "${name}" must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`, { field: name });
  }
  return match;
}

/** A multi-line input: one item per line, also split on commas when `commas` is set; blanks dropped. */
export function listInput(name: string, options: { commas?: boolean } = {}): string[] {
  const raw = rawInput(name);
  const parts = raw.split(/\r?\n/).flatMap((line) => (options.commas ? line.split(',') : [line]));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}
