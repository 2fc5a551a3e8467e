import { describeError, GitopsError } from '../tasks/core/errors';
import { displayUrl } from '../tasks/core/exec';
import { Logger } from '../tasks/core/logger';
import { CliCommand, UsageError } from './commands/command';
import { generateCommand } from './commands/generate';
import { installCommand } from './commands/install';
import { setCommand } from './commands/set';
import { publishCommand } from './commands/publish';
import { promoteCommand } from './commands/promote';
import { updateImageTagCommand } from './commands/update-image-tag';

/** Every command; a new one (publish, update-image-tag, promote) is one more file in commands/. */
const commands: CliCommand[] = [installCommand, generateCommand, setCommand, promoteCommand, updateImageTagCommand, publishCommand];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: bedrock-gitops <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `bedrock-gitops <command> --help` for the options of a command.',
    'Set BEDROCK_GITOPS_VERBOSE=1 for debug logs.',
  ].join('\n');
}

function stderrLogger(verbose: boolean): Logger {
  return {
    // No URL's user info in logs: it may be a token (https://TOKEN@host/...).
    debug: (message) => { if (verbose) process.stderr.write(`debug: ${displayUrl(message)}\n`); },
    info: (message) => { process.stderr.write(`${displayUrl(message)}\n`); },
    warn: (message) => { process.stderr.write(`warning: ${displayUrl(message)}\n`); },
  };
}

/** The error as the CLI user should read it: the task input it names becomes the flag they typed. */
function describeForCli(error: unknown, flags: Readonly<Record<string, string>>): string {
  const field = error instanceof GitopsError ? error.field : undefined;
  const flag = field && Object.hasOwn(flags, field) ? flags[field] : undefined;
  if (!(error instanceof GitopsError) || !field || !flag) return describeError(error);
  const escaped = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const swap = (text: string | undefined) => text?.replace(new RegExp(`(?<![\\w-])${escaped}(?![\\w-])`, 'g'), flag);
  return new GitopsError(swap(error.message)!, { file: error.file, line: error.line, field: flag, hint: swap(error.hint) }).describe();
}

/** Runs the CLI; resolves to the process exit code (0 ok, 1 failed, 2 wrong usage). */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${overview()}\n`);
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`error: unknown command "${name}" (commands: ${commands.map((c) => c.name).join(', ')})\n`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.help}\n`);
    return 0;
  }
  try {
    await command.run({
      args,
      env,
      cwd: process.cwd(),
      logger: stderrLogger(env.BEDROCK_GITOPS_VERBOSE === '1'),
      print: (line) => process.stdout.write(`${displayUrl(line)}\n`),
    });
    return 0;
  } catch (error) {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const message = describeForCli(error, command.flags ?? {}).split('\n')[0];
    process.stderr.write(usage ? `error: ${message} (see bedrock-gitops ${name} --help)\n` : `error: ${message}\n`);
    return usage ? 2 : 1;
  }
}
