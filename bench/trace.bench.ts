/**
 * `bedrock-gitops trace` on long histories: an HLD repository of 5,000 commits (UpdateImageTag and
 * PromoteContainer commits of 20 services in staging and prod, each with the tasks' trailers) and a
 * manifest repository of 5,000 GenerateManifests commits, served by the git HTTP server with token
 * auth. Measures the whole CLI process (node start, two fetches of commits, git log, trace),
 * tracing a build from the middle of the history. Target: under 2 s.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { formatCommitMessage } from '../tasks/core/git/commitMessage';
import { provenanceTrailers } from '../tasks/core/provenance';
import { reportRow } from './report';
import { startGitServer, testGitEnv } from '../test/support/gitServer';
import { bundleOnce } from '../test/tasks/updateImageTagHelpers';
import { repoRoot } from '../test/support/tools';

const COMMITS = 5000;
const services = Array.from({ length: 20 }, (_, i) => `svc${String(i).padStart(2, '0')}`);

/** A fast-import stream of `count` commits on main with the messages given, one small file changed each. */
function fastImport(bare: string, messages: string[], start: number): void {
  const lines: string[] = [];
  messages.forEach((message, i) => {
    const time = start + i * 60;
    const content = `n: ${i}\n`;
    lines.push('commit refs/heads/main', `mark :${i + 1}`, `author Bench <bench@example.com> ${time} +0000`, `committer Bench <bench@example.com> ${time} +0000`,
      `data ${Buffer.byteLength(message)}`, message, ...(i > 0 ? [`from :${i}`] : []), `M 100644 inline file.yaml`, `data ${content.length}`, content, '');
  });
  const result = spawnSync('git', ['--git-dir', bare, 'fast-import', '--quiet', '--force'], { input: lines.join('\n'), env: testGitEnv(), maxBuffer: 1 << 28 });
  if (result.status !== 0) throw new Error(`fast-import failed: ${result.stderr}`);
}

async function main(): Promise<void> {
  await bundleOnce();
  const server = await startGitServer();
  try {
    const hldUrl = await server.createRepo('org/_git/hld');
    const manifestUrl = await server.createRepo('org/_git/manifests');
    const hldMessages: string[] = [];
    const shas: string[] = [];
    for (let i = 0; i < COMMITS; i++) {
      const service = services[i % services.length];
      const build = String(10_000 + i);
      // Every fourth round of 20 commits promotes the previous round's builds to prod.
      const promote = Math.floor(i / 20) % 4 === 3;
      const source = String(10_000 + i - 20);
      const environment = promote ? 'prod' : 'staging';
      const provenance = provenanceTrailers({ system: 'Azure Pipelines', buildId: build, buildNumber: `20260101.${build}`, buildUrl: `https://dev.azure.com/org/p/_build/results?buildId=${build}`, sourceCommit: `${i.toString(16).padStart(40, 'a')}` });
      const digest = `sha256:${(promote ? i - 20 : i).toString(16).padStart(64, '0')}`;
      hldMessages.push(formatCommitMessage({
        subject: promote ? `Promote prod.azurecr.io/${service}:${source} to prod` : `Update ${service} image to ${build} in staging`,
        trailers: promote
          ? { 'Gitops-Image': `prod.azurecr.io/${service}@${digest}`, 'Gitops-Image-Tag': source, 'Gitops-Environment': environment, 'Gitops-Subcomponent': service,
            'Gitops-Source-Image': `staging.azurecr.io/${service}:${source}@${digest}`, 'Gitops-Tag': source, ...provenance }
          : { 'Gitops-Image': `staging.azurecr.io/${service}:${build}`, 'Gitops-Image-Tag': build, 'Gitops-Environment': environment, 'Gitops-Subcomponent': service, ...provenance },
      }));
    }
    fastImport(server.repoPath('org/_git/hld'), hldMessages, 1_767_225_600);
    const log = spawnSync('git', ['--git-dir', server.repoPath('org/_git/hld'), 'log', '--reverse', '--format=%H', 'main'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    shas.push(...log.stdout.trim().split('\n'));
    const manifestMessages = shas.map((sha, i) => formatCommitMessage({
      subject: `Generate manifests for ${Math.floor(i / 20) % 4 === 3 ? 'prod' : 'staging'}`,
      trailers: { 'Gitops-Hld-Repository': hldUrl, 'Gitops-Hld-Commit': sha, 'Gitops-Environments': Math.floor(i / 20) % 4 === 3 ? 'prod' : 'staging', ...provenanceTrailers({ system: 'Azure Pipelines', buildId: String(90_000 + i) }) },
    }));
    fastImport(server.repoPath('org/_git/manifests'), manifestMessages, 1_767_225_630);
    // Azure Repos and GitHub serve partial clones; git-http-backend does once allowed.
    for (const repo of ['org/_git/hld', 'org/_git/manifests']) spawnSync('git', ['--git-dir', server.repoPath(repo), 'config', 'uploadpack.allowFilter', 'true']);

    // A build from the middle of the history: staging write at 2,440 and its promotion at 2,460.
    const build = String(10_000 + 2440);
    const timeRuns = () => {
      const runs: number[] = [];
      let output = '';
      for (let i = 0; i < 3; i++) {
        const started = process.hrtime.bigint();
        const run = spawnSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'trace', '--hld-repo', hldUrl, '--manifest-repo', manifestUrl, '--build', build, '--json'],
          { encoding: 'utf8', env: { PATH: process.env.PATH, GITOPS_GIT_TOKEN: server.token }, maxBuffer: 1 << 26 });
        runs.push(Number(process.hrtime.bigint() - started) / 1e9);
        if (run.status !== 0) throw new Error(`trace failed: ${run.stderr}`);
        output = run.stdout;
      }
      const result = JSON.parse(output) as { environments: { name: string; status: string }[]; read: { hldCommits: number; manifestCommits: number } };
      if (result.read.hldCommits !== COMMITS || result.read.manifestCommits !== COMMITS) throw new Error(`read ${JSON.stringify(result.read)}`);
      const statuses = result.environments.map((e) => `${e.name}:${e.status}`).join(' ');
      process.stderr.write(`trace of build ${build}: ${statuses}; runs ${runs.map((r) => r.toFixed(3)).join(', ')} s\n`);
      if (!/staging:(published|superseded) prod:(published|superseded)/.test(statuses)) throw new Error(`unexpected trace: ${statuses}`);
      return runs.sort((a, b) => a - b)[1];
    };
    reportRow({ bench: 'trace', metric: 'trace a build, 5,000 HLD + 5,000 manifest commits (CLI process, median of 3)', ours: timeRuns(), unit: 's', target: 2, kind: 'max' });
    for (const repo of ['org/_git/hld', 'org/_git/manifests']) spawnSync('git', ['--git-dir', server.repoPath(repo), 'config', 'uploadpack.allowFilter', 'false']);
    reportRow({ bench: 'trace', metric: 'the same from a server without partial clone (info)', ours: timeRuns(), unit: 's', kind: 'info' });
  } finally {
    await server.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exitCode = 1;
});
