import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createPrivateCa, startForwardProxy, type ForwardProxy, type PrivateCa } from '../support/forwardProxy';
import { startGitServer, type GitServer } from '../support/gitServer';
import { GithubDouble } from '../support/githubDouble';
import { findLeaks, runTask, type TaskRun } from '../support/runTask';
import { repoRoot } from '../support/tools';
import { bundleOnce, componentYaml, fileBytes } from './updateImageTagHelpers';

/**
 * Agents behind a corporate proxy that trust a private CA: the agent's proxy settings
 * (Agent.ProxyUrl, Agent.ProxyUsername, the secret Agent.ProxyPassword, Agent.ProxyBypassList) and
 * Agent.CAInfo reach every request of the task, its own and git's. The servers listen on 127.0.0.2
 * so that no client skips the proxy because the host is "localhost".
 */
describe('Tasks behind a forward proxy with basic auth, trusting a private CA', function () {
  this.timeout(300_000);
  const token = 'git-token-proxied-5b0c';
  const config = 'subcomponents:\n  api:\n    config:\n      image:\n        tag: old\n';
  let proxy: ForwardProxy;
  let ca: PrivateCa;
  let plain: GitServer;
  let secure: GitServer;
  let github: GithubDouble;

  before(async () => {
    ca = await createPrivateCa();
    const certificate = await ca.serverCertificate('127.0.0.2');
    [proxy, plain, secure] = await Promise.all([
      startForwardProxy(),
      startGitServer({ token, host: '127.0.0.2' }),
      startGitServer({ token, host: '127.0.0.2', tls: certificate }),
      bundleOnce(),
    ]);
    github = new GithubDouble({ token, owner: 'contoso', repository: 'hld-pr' });
    await github.start();
  });
  after(async () => {
    await Promise.all([proxy?.stop(), plain?.stop(), secure?.stop(), github?.stop()]);
  });

  const agentProxy = (extra: Record<string, string> = {}) => ({
    variables: { 'Agent.ProxyUrl': proxy.url, 'Agent.ProxyUsername': proxy.username, 'Agent.ProxyBypassList': '[]', ...extra },
    secrets: { 'System.AccessToken': token, 'Agent.ProxyPassword': proxy.password },
  });
  const update = (url: string, options: { variables: Record<string, string>; secrets: Record<string, string> }, inputs: Record<string, string> = {}) =>
    runTask('UpdateImageTag', { inputs: { hldRepositoryUrl: url, environment: 'prod', subcomponent: 'api', imageTag: '5.0.1', ...inputs }, ...options });
  const hostOf = (url: string) => new URL(url).host;
  /**
   * task-lib itself prints `##vso[task.debug]Agent.ProxyPassword=<value>` while loading, before any
   * code of ours runs; the agent masks it because Agent.ProxyPassword is a secret variable (as it
   * masks every registered secret). Every other line must be free of it.
   */
  const withoutTaskLibProxyDebug = (run: TaskRun): TaskRun => ({ ...run, stdout: run.stdout.split('\n').filter((l) => !l.startsWith('##vso[task.debug]Agent.ProxyPassword=')).join('\n') });
  const leaks = (run: TaskRun, secrets: string[]) => findLeaks(withoutTaskLibProxyDebug(run), secrets);
  const noLeaks = (run: TaskRun) => assert.deepEqual(leaks(run, [token, proxy.password]), []);
  const succeeded = (run: TaskRun) => assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout}`);

  it('git clone and push go through the proxy, authenticated, and the proxy password never shows', async () => {
    const before = proxy.targets().length;
    const url = await plain.createRepo('org/proxied-hld', { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config } });
    const run = await update(url, agentProxy());
    succeeded(run);
    assert.match(await fileBytes(plain.repoPath('org/proxied-hld'), 'main', 'config/prod.yaml'), /tag: "?5\.0\.1"?/);
    const carried = proxy.targets().slice(before);
    assert.ok(carried.filter((t) => t === hostOf(url)).length >= 2, `the clone and the push went through the proxy: ${carried.join(', ')}`);
    assert.ok(run.secretsRegistered.includes(proxy.password), 'the proxy password is masked by the agent');
    assert.match(run.stdout, new RegExp(`Using the proxy ${proxy.url.replace(/\./g, '\\.')} as ${proxy.username}`));
    noLeaks(run);
  });

  it('a host on the bypass list is reached directly', async () => {
    const before = proxy.targets().length;
    const url = await plain.createRepo('org/bypassed-hld', { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config } });
    const run = await update(url, agentProxy({ 'Agent.ProxyBypassList': JSON.stringify(['127\\.0\\.0\\.2']) }));
    succeeded(run);
    assert.deepEqual(proxy.targets().slice(before), [], 'nothing went through the proxy');
    noLeaks(run);
  });

  it('a wrong proxy password fails the task without showing either password', async () => {
    const url = await plain.createRepo('org/refused-hld', { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config } });
    const options = agentProxy();
    const wrong = 'not-the-proxy-password-77';
    const run = await update(url, { variables: options.variables, secrets: { ...options.secrets, 'Agent.ProxyPassword': wrong } });
    assert.equal(run.result, 'Failed');
    // tinyproxy answers a wrong password with 401 (squid with 407); git reports either as refused.
    assert.match(run.message ?? '', /407|proxy|authentication or permission denied/i);
    assert.match(await fileBytes(plain.repoPath('org/refused-hld'), 'main', 'config/prod.yaml'), /tag: old/, 'nothing pushed');
    assert.deepEqual(leaks(run, [token, proxy.password, wrong]), []);
  });

  it('an https git server signed by a private CA is trusted through Agent.CAInfo, and refused without it', async () => {
    const url = await secure.createRepo('org/tls-hld', { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config } });
    const refused = await update(url, agentProxy());
    assert.equal(refused.result, 'Failed');
    assert.match(refused.message ?? '', /certificate/i);

    const before = proxy.targets().length;
    const trusted = await update(url, agentProxy({ 'Agent.CAInfo': ca.caFile }));
    succeeded(trusted);
    assert.ok(proxy.targets().slice(before).includes(hostOf(url)), 'tunnelled through the proxy');
    assert.match(await fileBytes(secure.repoPath('org/tls-hld'), 'main', 'config/prod.yaml'), /tag: "?5\.0\.1"?/);
    noLeaks(trusted);
  });

  it('the GitHub REST API is called through the proxy too', async () => {
    const url = await plain.createRepo('contoso/hld-pr', { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config } });
    const before = proxy.targets().length;
    const run = await update(url, agentProxy(), { pushMode: 'pullRequest', pullRequestApiUrl: github.apiUrl });
    succeeded(run);
    assert.equal(github.pullRequests.length, 1);
    const carried = proxy.targets().slice(before);
    assert.ok(carried.includes(hostOf(github.apiUrl)), `the API calls went through the proxy: ${carried.join(', ')}`);
    assert.ok(carried.includes(hostOf(url)), 'and git did');
    noLeaks(run);
  });

  it('the CLI honours HTTPS_PROXY with credentials, NO_PROXY and --ca-file', async () => {
    const url = await secure.createRepo('org/cli-hld', { files: { 'component.yaml': componentYaml, 'config/prod.yaml': config } });
    const proxyUrl = proxy.url.replace('://', `://${proxy.username}:${proxy.password}@`);
    const cli = (args: string[], env: Record<string, string>) => new Promise<{ code: number; output: string }>((resolve) => {
      const child = spawn(process.execPath, [join(repoRoot, 'bin', 'bedrock-gitops.js'), ...args], {
        env: { PATH: process.env.PATH!, HOME: process.env.HOME!, GITOPS_GIT_TOKEN: token, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c) => { output += c; });
      child.stderr.on('data', (c) => { output += c; });
      child.on('close', (code) => resolve({ code: code ?? 1, output }));
    });
    const args = ['update-image-tag', '--hld-repo', url, '--environment', 'prod', '--subcomponent', 'api', '--tag', '6.0.0'];

    const untrusted = await cli(args, { HTTPS_PROXY: proxyUrl });
    assert.equal(untrusted.code, 1, untrusted.output);
    assert.match(untrusted.output, /certificate/i);

    const before = proxy.targets().length;
    const trusted = await cli([...args, '--ca-file', ca.caFile], { HTTPS_PROXY: proxyUrl });
    assert.equal(trusted.code, 0, trusted.output);
    assert.ok(proxy.targets().slice(before).includes(hostOf(url)));
    assert.ok(!trusted.output.includes(proxy.password), 'the proxy password is not printed');

    const beforeBypass = proxy.targets().length;
    const bypassed = await cli([...args.slice(0, -1), '6.0.1', '--ca-file', ca.caFile], { HTTPS_PROXY: proxyUrl, NO_PROXY: '127.0.0.2' });
    assert.equal(bypassed.code, 0, bypassed.output);
    assert.deepEqual(proxy.targets().slice(beforeBypass), []);
  });
});
