/**
 * What every hostile-input case checks, for the bundled tasks and the CLI alike: one git server
 * with the repositories an attacker may aim at, a canary folder and a marker folder outside every
 * checkout, and a `git` wrapper first on the PATH that records the argv of every git process the
 * task or CLI starts (so a token in argv would be seen).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGitServer, type GitServer } from '../support/gitServer';
import { tempDir } from '../support/tmp';
import { createFileRepo, refsOf } from '../tasks/updateImageTagHelpers';

export const componentYaml = 'name: hld\nsubcomponents:\n  - name: api\n    type: static\n    path: ./manifests\n';
export const prodConfig = 'subcomponents:\n  api:\n    config:\n      image:\n        tag: old\n';
export const hldFiles: Record<string, string> = {
  'component.yaml': componentYaml,
  'manifests/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: prod\n',
  'config/prod.yaml': prodConfig,
};

/** An HLD whose component.yaml (written by the attacker) holds `subcomponent`. */
export function evilHld(subcomponent: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...hldFiles, 'component.yaml': `name: hld\nsubcomponents:\n${subcomponent}`, ...extra };
}

/** A token that travels as the user name of a URL (https://TOKEN@host/...); unique per test process. */
export const URL_TOKEN = `urltoken${process.pid.toString(16)}x${Date.now().toString(16)}`;

export interface Fixture {
  server: GitServer;
  /** http URLs of the repositories on the server, by name. */
  urls: Record<string, string>;
  /** The HLD as a file:// repository and as a plain path (local remotes run git-upload-pack locally). */
  fileHld: { url: string; bare: string };
  /** A folder nobody may write to; its snapshot must not change. */
  canary: string;
  /** An `--upload-pack`/hook payload would create a file here. */
  markers: string;
  /** One line per git process started through the wrapper: its arguments, NUL-separated. */
  argvLog: string;
  /** PATH with the git wrapper first. */
  path: string;
  /** A token that travels as the user name of a URL (https://TOKEN@host/...): it must never print. */
  urlToken: string;
  /** The registry password handed to PromoteContainer: it must never print nor reach argv. */
  registryPassword: string;
}

/** Starts the server and creates `repos` (name -> files) on it. */
export async function startFixture(repos: Record<string, Record<string, string>>): Promise<Fixture> {
  const server = await startGitServer();
  const urls: Record<string, string> = {};
  for (const [name, files] of Object.entries(repos)) urls[name] = await server.createRepo(name, { files });
  const fileHld = await createFileRepo(hldFiles);
  const canary = tempDir('hostile-canary-');
  mkdirSync(join(canary, 'nested'));
  writeFileSync(join(canary, 'keep.txt'), 'untouched\n');
  writeFileSync(join(canary, 'nested', 'prod'), 'untouched too\n');
  const markers = tempDir('hostile-markers-');
  const bin = tempDir('hostile-bin-');
  const argvLog = join(tempDir('hostile-argv-'), 'git-argv.log');
  writeFileSync(argvLog, '');
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(join(bin, 'git'), `#!/bin/sh\n{ for a in "$@"; do printf '%s\\0' "$a"; done; printf '\\n'; } >> '${argvLog}'\nexec '${realGit}' "$@"\n`);
  chmodSync(join(bin, 'git'), 0o755);
  return {
    server,
    urls,
    fileHld,
    canary,
    markers,
    argvLog,
    path: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    urlToken: URL_TOKEN,
    registryPassword: `registry-pass-${process.pid}-k9`,
  };
}

/** Every file under `dir` with its content, to compare before and after a case. */
export function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (folder: string, prefix: string) => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path, `${prefix}${name}/`);
      else files[`${prefix}${name}`] = readFileSync(path, 'utf8');
    }
  };
  walk(dir, '');
  return files;
}

/** The refs of every bare repository of the fixture (the server's and the file:// one). */
export async function allRefs(fixture: Fixture): Promise<string> {
  const names = Object.keys(fixture.urls);
  const refs = await Promise.all(names.map((name) => refsOf(fixture.server.repoPath(name))));
  return [...names.map((name, i) => `${name}:\n${refs[i]}`), `file:\n${await refsOf(fixture.fileHld.bare)}`].join('\n');
}

/** The secrets of a case in every form a leak could take. */
function leakForms(secret: string): string[] {
  return [secret, Buffer.from(secret).toString('base64'), Buffer.from(`:${secret}`).toString('base64')];
}

export interface CaseOutcome {
  /** Everything a user could see: stdout, stderr, attachments. */
  texts: Record<string, string>;
  /** The message the refusal gave (task result message or CLI stderr). */
  message: string;
}

/**
 * The checks every hostile case shares: the message names `names`, no repository moved, nothing
 * was written to the canary or marker folders, and no secret is in any output nor in the argv of
 * any git process started since `argvFrom` (the log's length before the case).
 */
export async function assertContained(fixture: Fixture, outcome: CaseOutcome, names: RegExp, before: { refs: string; canary: Record<string, string>; argvFrom: number }): Promise<void> {
  assert.match(outcome.message, names, `the refusal should name ${names}: ${outcome.message}`);
  assert.equal(await allRefs(fixture), before.refs, 'a repository changed');
  assert.deepEqual(snapshot(fixture.canary), before.canary, 'the canary folder changed');
  assert.deepEqual(readdirSync(fixture.markers), [], 'an injected command ran');
  const argv = readFileSync(fixture.argvLog, 'utf8').slice(before.argvFrom);
  const checks: Record<string, string> = { ...outcome.texts, 'git argv': argv };
  for (const secret of [fixture.server.token, fixture.registryPassword]) {
    for (const [where, text] of Object.entries(checks)) {
      assert.ok(!leakForms(secret).some((form) => text.includes(form)), `${where} contains a secret`);
    }
  }
  // Every case runs with a token of our own, so git never needs (nor gets) a URL's user info.
  for (const [where, text] of Object.entries(checks)) {
    assert.ok(!text.includes(fixture.urlToken), `${where} shows the token from a URL's user name`);
  }
}

/** The state to compare against after a case. */
export async function stateBefore(fixture: Fixture): Promise<{ refs: string; canary: Record<string, string>; argvFrom: number }> {
  return { refs: await allRefs(fixture), canary: snapshot(fixture.canary), argvFrom: existsSync(fixture.argvLog) ? readFileSync(fixture.argvLog, 'utf8').length : 0 };
}

/** A shell payload that leaves a file in the marker folder when it runs. */
export function payload(fixture: Fixture, name: string): string {
  return `touch ${join(fixture.markers, name)}`;
}
