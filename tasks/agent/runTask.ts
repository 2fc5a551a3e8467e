/**
 * The Azure Pipelines side shared by the three task adapters: logging through task-lib with
 * `##vso[` neutralised, secrets registered, outputs, summaries, and failure reporting.
 * Core code never sees task-lib; it gets a Logger and plain options.
 */
import * as tl from 'azure-pipelines-task-lib/task';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, GitopsError } from '../core/errors';
import { Logger } from '../core/logger';
import { displayUrl, redact } from '../core/exec';
import { useNetwork } from '../core/network';
import { agentNetworkSettings } from './network';

export interface TaskContext {
  logger: Logger;
  /** Registers a value with the agent so it is masked in logs, and with our own redaction. */
  secret(value: string | undefined): void;
  /** Sets an output variable (isOutput=true) readable by later steps, jobs and stages. */
  output(name: string, value: string | number | boolean | undefined): void;
  /** Attaches a Markdown tab to the run summary. */
  summary(title: string, markdown: string): void;
  progress(percent: number, text: string): void;
  /** Agent.TempDirectory (or the OS temp dir outside an agent). */
  tempDirectory: string;
}

const external = { source: 'childProcess' as const };

export function runTask(name: string, body: (ctx: TaskContext) => Promise<string>): void {
  const secrets: string[] = [];
  // Every line the agent shows: secrets masked, and no URL's user info (it may be a token).
  const clean = (text: string) => displayUrl(redact(text, secrets));
  const tempDirectory = tl.getVariable('Agent.TempDirectory') || require('node:os').tmpdir();
  const ctx: TaskContext = {
    logger: {
      debug: (m) => tl.debugExternalOutput(clean(m), external),
      info: (m) => tl.writeExternalOutput(clean(m) + '\n', external),
      warn: (m) => tl.warningExternalOutput(clean(m), external),
    },
    secret(value) {
      if (!value || secrets.includes(value)) return;
      secrets.push(value);
      tl.setSecret(value);
    },
    output(outputName, value) {
      tl.setVariable(outputName, value === undefined ? '' : String(value), false, true);
    },
    summary(title, markdown) {
      const dir = join(tempDirectory, 'bedrock-gitops-summaries');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${name}-${title.replace(/[^A-Za-z0-9_-]+/g, '-')}-${process.pid}.md`);
      writeFileSync(file, clean(markdown));
      tl.addAttachment('Distributedtask.Core.Summary', title, file);
    },
    progress(percent, text) {
      tl.setProgress(percent, text);
    },
    tempDirectory,
  };

  const run = async () => {
    useNetwork(agentNetworkSettings(ctx), { workDir: tempDirectory, env: process.env, logger: ctx.logger });
    return body(ctx);
  };
  run().then(
    (message) => tl.setResult(tl.TaskResult.Succeeded, clean(message)),
    (error: unknown) => {
      const message = clean(describeError(error));
      if (!(error instanceof GitopsError) && error instanceof Error && error.stack) {
        tl.debugExternalOutput(clean(error.stack), external);
      }
      tl.setResult(tl.TaskResult.Failed, message);
      process.exitCode = 1;
    },
  );
}

/**
 * Runs `read` with task-lib's own output discarded. Outside a real agent task-lib debug-logs the
 * values of variables and endpoint parameters it reads, secrets included; the agent would mask
 * them, but a token must not reach stdout at all.
 */
export function quietly<T>(read: () => T): T {
  const sink = new (require('node:stream').Writable)({ write: (_c: unknown, _e: unknown, done: () => void) => done() });
  tl.setStdStream(sink);
  try {
    return read();
  } finally {
    tl.setStdStream(process.stdout);
  }
}
