import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { displayUrl, redact } from '../tasks/core/exec';
import { networkSecrets, useNetwork } from '../tasks/core/network';
import { cliNetworkSettings } from './network';
import { Logger } from '../tasks/core/logger';
import { CliCommand, UsageError } from './commands/command';
import { describeForCli } from './commands/shared';
import { generateCommand } from './commands/generate';
import { installCommand } from './commands/install';
import { setCommand } from './commands/set';
import { publishCommand } from './commands/publish';
import { promoteCommand } from './commands/promote';
import { updateImageTagCommand } from './commands/update-image-tag';
import { traceCommand } from './commands/trace';
import { historyCommand } from './commands/history';
import { rollbackCommand } from './commands/rollback';

/** Every command; a new one (publish, update-image-tag, promote) is one more file in commands/. */
const commands: CliCommand[] = [installCommand, generateCommand, setCommand, promoteCommand, updateImageTagCommand, publishCommand, traceCommand, historyCommand, rollbackCommand];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: bedrock-gitops <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `bedrock-gitops <command> --help` for the options of a command; `bedrock-gitops --version` for the version.',
    'Set BEDROCK_GITOPS_VERBOSE=1 for debug logs.',
    'Network: HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured; --ca-file PATH (any command) or',
    'BEDROCK_GITOPS_CA_FILE trusts a private certificate authority besides the system ones.',
  ].join('\n');
}

/** The package's version (package.json sits one folder above dist/cli.js and cli/main.ts). */
export function cliVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Logs to stderr, with the proxy password (and its encodings) masked. */
function stderrLogger(verbose: boolean, secrets: readonly string[]): Logger {
  // No URL's user info in logs either: it may be a token (https://TOKEN@host/...).
  const write = (text: string) => process.stderr.write(`${redact(displayUrl(text), secrets)}\n`);
  return {
    debug: (message) => { if (verbose) write(`debug: ${message}`); },
    info: (message) => write(message),
    warn: (message) => write(`warning: ${message}`),
  };
}

/** `--ca-file PATH` (or `--ca-file=PATH`), which every command takes: the value and the other arguments. */
function takeCaFile(args: string[]): { caFile?: string; rest: string[] } {
  const rest: string[] = [];
  let caFile: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--ca-file') {
      caFile = args[++i];
      if (!caFile) throw new UsageError('--ca-file needs a path');
    } else if (args[i].startsWith('--ca-file=')) caFile = args[i].slice('--ca-file='.length);
    else rest.push(args[i]);
  }
  return { caFile, rest };
}

/** Runs the CLI; resolves to the process exit code (0 ok, 1 failed, 2 wrong usage). */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${overview()}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`${cliVersion()}\n`);
    return 0;
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
  const secrets: string[] = [];
  const logger = stderrLogger(env.BEDROCK_GITOPS_VERBOSE === '1', secrets);
  try {
    const { caFile, rest } = takeCaFile(args);
    const network = cliNetworkSettings(env, caFile);
    secrets.push(...networkSecrets(network));
    useNetwork(network, { workDir: tmpdir(), env, logger });
    await command.run({
      args: rest,
      env,
      cwd: process.cwd(),
      logger,
      print: (line) => process.stdout.write(`${displayUrl(line)}\n`),
    });
    return 0;
  } catch (error) {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const message = redact(displayUrl(describeForCli(error, command.settings).split('\n')[0]), secrets);
    process.stderr.write(usage ? `error: ${message} (see bedrock-gitops ${name} --help)\n` : `error: ${message}\n`);
    return usage ? 2 : 1;
  }
}
