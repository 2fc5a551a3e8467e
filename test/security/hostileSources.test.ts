/**
 * Hostile servers (issue 17, render side): http static sources, git component servers and helm
 * mirrors that misbehave on purpose. Every case runs the bundled GenerateManifests task as the
 * agent does and asserts: task Failed with a message naming the server or file, the manifest
 * repository untouched, the canary file outside never read into any output nor changed, and
 * bounded time and peak memory of the task process.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { arch, platform } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startGitServer, type GitServer } from '../support/gitServer';
import { findLeaks } from '../support/runTask';
import { tempDir } from '../support/tmp';
import { helm4 } from '../support/tools';
import { bundleOnce } from '../tasks/updateImageTagHelpers';
import { tipOf } from '../tasks/generateManifests.fixture';
import { assertRefused, bounds, Canary, filesBelow, HostileServer, measuredTask, pushTree, writeTree, type MeasuredRun, type TreeSpec } from './support';

const NETWORK_TIMEOUT_S = 3;
const helmVersion = '3.18.0';
const platformFolder = `${platform()}-${arch() === 'arm64' ? 'arm64' : 'amd64'}`;
const archiveName = `helm-v${helmVersion}-${platformFolder}.tar.gz`;
const MB = 1024 * 1024;

/** 2 MB on the wire, 2 GB once decompressed: 2048 gzip members of 1 MB of zeros. */
const gzipBomb = (() => {
  const member = gzipSync(Buffer.alloc(MB), { level: 9 });
  return Buffer.concat(Array(2048).fill(member));
})();

/** One ustar header + data; `type` '0' file, '1' hard link, '2' symlink. */
function tarEntry(name: string, type: '0' | '1' | '2', data = Buffer.alloc(0), linkname = '', mode = 0o755): Buffer {
  const header = Buffer.alloc(512);
  const put = (text: string, offset: number, length: number) => header.write(text, offset, length, 'utf8');
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, '0') + '\0';
  put(name, 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(type === '0' ? data.length : 0, 12), 124, 12);
  put(octal(1700000000, 12), 136, 12);
  put('        ', 148, 8);
  put(type, 156, 1);
  put(linkname, 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const byte of header) sum += byte;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  const padded = Buffer.alloc(Math.ceil((type === '0' ? data.length : 0) / 512) * 512);
  if (type === '0') data.copy(padded);
  return Buffer.concat([header, padded]);
}

function tarGz(...entries: Buffer[]): Buffer {
  return gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]));
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('hostile servers (bundled GenerateManifests)', function () {
  this.timeout(180_000);
  let git: GitServer;
  let hostile: HostileServer;
  let elsewhere: HostileServer;
  let canary: Canary;
  let canaryInitial: string;
  let manifestUrl: string;
  let manifestBare: string;
  const measured: { name: string; ms: number; mb: number }[] = [];

  /** Archives the helm mirror serves, by case name. */
  const archives: Record<string, Buffer> = {};

  before(async function () {
    this.timeout(240_000);
    canary = new Canary();
    canaryInitial = canary.snapshot();
    [git] = await Promise.all([startGitServer(), bundleOnce()]);
    manifestUrl = await git.createRepo('manifests', { files: { 'prod/keep.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\n' } });
    manifestBare = git.repoPath('manifests');
    const member = `${platformFolder}/helm`;
    const runsNot = Buffer.from('#!/bin/sh\necho "not helm" >&2\nexit 3\n');
    archives.symlink = tarGz(tarEntry(member, '2', undefined, canary.file));
    archives.hardlink = tarGz(tarEntry(member, '1', undefined, canary.file));
    archives.duplicate = tarGz(tarEntry(member, '0', runsNot), tarEntry(member, '2', undefined, canary.file));
    archives.runsnot = tarGz(tarEntry(member, '0', runsNot));
    elsewhere = await new HostileServer({}, (_req, res) => { res.writeHead(404); res.end(); }).start();
    hostile = await new HostileServer({
      // http static sources
      '/infinite.yaml': (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/yaml' });
        const chunk = Buffer.alloc(256 * 1024, 'a');
        const pump = () => { while (res.write(chunk)) { /* fill the socket */ } };
        res.on('drain', pump);
        pump();
      },
      '/bomb.yaml': (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/yaml', 'content-encoding': 'gzip', 'content-length': gzipBomb.length });
        res.end(gzipBomb);
      },
      '/huge-length.yaml': (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/yaml', 'content-length': String(10 * 1024 * MB) });
        res.write('kind: ConfigMap\n');
      },
      '/drip.yaml': (_req, res, server) => {
        res.writeHead(200, { 'content-type': 'application/yaml' });
        server.every(500, () => res.write('#'));
      },
      '/no-answer.yaml': () => { /* never answers */ },
      '/headers-then-silence.yaml': (_req, res) => { res.writeHead(200); res.flushHeaders(); },
      '/to-plain-http.yaml': (_req, res) => { res.writeHead(302, { location: 'http://192.0.2.10/manifest.yaml' }); res.end(); },
      '/to-ftp.yaml': (_req, res, server) => { res.writeHead(301, { location: `ftp://127.0.0.1:${new URL(server.origin).port}/manifest.yaml` }); res.end(); },
      '/to-file.yaml': (_req, res) => { res.writeHead(302, { location: `file://${canary.file}` }); res.end(); },
      '/to-data.yaml': (_req, res) => { res.writeHead(307, { location: 'data:text/plain,kind: ConfigMap' }); res.end(); },
      '/loop': (req, res) => { res.writeHead(302, { location: `${req.url}/again.yaml` }); res.end(); },
      '/no-location.yaml': (_req, res) => { res.writeHead(302); res.end(); },
      '/error.yaml': (_req, res) => { res.writeHead(500); res.end('boom'); },
      // git servers
      '/never': () => { /* info/refs never answers */ },
      '/drip-git': (_req, res, server) => {
        res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement' });
        server.every(500, () => res.write('0'));
      },
      '/redirect-git': (req, res) => {
        res.writeHead(302, { location: `${elsewhere.origin}${req.url}` });
        res.end();
      },
      // chart repositories (helm pulls, killed at the deadline)
      '/charts-never': () => { /* index.yaml never answers */ },
      '/charts-drip': (_req, res, server) => {
        res.writeHead(200, { 'content-type': 'application/yaml' });
        server.every(500, () => res.write('#'));
      },
      // helm mirrors
      '/mirror': (req, res, server) => {
        const [, , name, file] = (req.url ?? '').split('/');
        const archive = archives[name];
        if (name === 'drip' && file === archiveName) {
          res.writeHead(200);
          server.every(500, () => res.write('x'));
          return;
        }
        if (name === 'bomb' && file === archiveName) {
          res.writeHead(200, { 'content-encoding': 'gzip' });
          res.end(gzipBomb);
          return;
        }
        if (name === 'endless-sum' && file === archiveName) {
          res.end(archives.runsnot);
          return;
        }
        if (name === 'endless-sum' && file === `${archiveName}.sha256sum`) {
          res.writeHead(200);
          const chunk = Buffer.alloc(64 * 1024, '0');
          const pump = () => { while (res.write(chunk)) { /* fill */ } };
          res.on('drain', pump);
          pump();
          return;
        }
        if (name === 'insecure' && file === archiveName) {
          res.writeHead(302, { location: `http://192.0.2.10/${archiveName}` });
          res.end();
          return;
        }
        if (archive && file === archiveName) {
          res.end(archive);
          return;
        }
        if (archive && file === `${archiveName}.sha256sum`) {
          res.end(`${sha256(archive)}  ${archiveName}\n`);
          return;
        }
        res.writeHead(404);
        res.end();
      },
    }).start();
  });

  after(async () => {
    await hostile?.stop();
    await elsewhere?.stop();
    await git?.stop();
    if (measured.length) {
      // The measurements of this suite, for the report.
      console.log(`\n    refused runs: max ${Math.max(...measured.map((m) => m.ms))} ms, max peak RSS ${Math.max(...measured.map((m) => m.mb)).toFixed(0)} MB`);
      for (const m of measured) console.log(`      ${m.name}: ${m.ms} ms, ${m.mb.toFixed(0)} MB`);
    }
  });

  /** Renders an HLD whose root holds `subcomponents` (YAML list text) and publishes to the shared manifest repository. */
  async function generate(subcomponents: string, extra: { files?: TreeSpec; inputs?: Record<string, string>; env?: Record<string, string>; variables?: Record<string, string>; tokenFor?: string } = {}): Promise<MeasuredRun & { hldDir: string }> {
    // The test git server wants its token: access.yaml names the variable holding it, as an HLD would.
    const access: TreeSpec = extra.tokenFor ? { 'access.yaml': `${JSON.stringify(extra.tokenFor)}: GIT_SOURCE_TOKEN\n` } : {};
    const hldDir = writeTree(tempDir('hostile-hld-'), { 'component.yaml': `name: root\nsubcomponents:\n${subcomponents}`, ...access, ...extra.files });
    const run = await measuredTask('GenerateManifests', {
      // These HLDs configure no environment: the environment check is not what is tested here.
      inputs: { hldPath: hldDir, environments: 'prod', helmPath: helm4, manifestRepositoryUrl: manifestUrl, networkTimeoutSeconds: String(NETWORK_TIMEOUT_S), allowEnvironmentsWithoutConfig: 'true', ...extra.inputs },
      variables: { 'Build.BuildId': '1', 'System.CollectionUri': 'https://dev.azure.com/org/', 'System.TeamProject': 'proj', ...extra.variables },
      secrets: { 'System.AccessToken': git.token },
      env: { GIT_SOURCE_TOKEN: git.token, ...extra.env },
    });
    return { ...run, hldDir };
  }

  async function refused(name: string, run: MeasuredRun & { hldDir: string }, message: RegExp, tipBefore: string | undefined): Promise<void> {
    measured.push({ name, ms: run.elapsedMs, mb: run.peakRssMb });
    assertRefused(run, message, canary, canaryInitial, { ...filesBelow(run.outputs.renderedPath ?? '/nonexistent'), ...filesBelow(run.hldDir) });
    assert.equal(await tipOf(manifestBare), tipBefore, 'the manifest repository was not changed');
    assert.deepEqual(findLeaks(run, [git.token]), [], 'no token printed');
  }

  const httpStatic = (path: string) => `  - name: remote\n    type: static\n    method: http\n    source: ${hostile.url(path)}\n`;

  describe('http static sources', () => {
    const cases: { name: string; path: string; message: (origin: string) => RegExp; maxMs?: number }[] = [
      { name: 'an endless stream is cut at the size cap', path: '/infinite.yaml', message: (o) => new RegExp(`${o} sent more than the limit of \\d+ bytes`) },
      { name: 'a 2 MB gzip bomb is cut at the cap, counting decompressed bytes', path: '/bomb.yaml', message: (o) => new RegExp(`${o} sent more than the limit of \\d+ bytes \\(after decompression\\)`) },
      { name: 'a 10 GB Content-Length is refused before reading', path: '/huge-length.yaml', message: () => /is 10737418240 bytes, more than the limit/ },
      { name: 'a slow drip hits the overall deadline', path: '/drip.yaml', message: (o) => new RegExp(`${o} did not finish the download of .*drip\\.yaml within ${NETWORK_TIMEOUT_S} s`), maxMs: 20_000 },
      { name: 'a server that never answers hits the deadline', path: '/no-answer.yaml', message: (o) => new RegExp(`${o} did not finish the request of .*within ${NETWORK_TIMEOUT_S} s`), maxMs: 20_000 },
      { name: 'headers then silence hit the deadline', path: '/headers-then-silence.yaml', message: (o) => new RegExp(`${o} did not finish the download`), maxMs: 20_000 },
      { name: 'a redirect to plain http on another host is refused', path: '/to-plain-http.yaml', message: (o) => new RegExp(`${o} redirected .* to http://192\\.0\\.2\\.10/manifest\\.yaml; only https redirects`) },
      { name: 'a redirect to ftp:// is refused', path: '/to-ftp.yaml', message: () => /redirected .* to ftp:\/\/127\.0\.0\.1:\d+\/manifest\.yaml; only https/ },
      { name: 'a redirect to file:// is refused', path: '/to-file.yaml', message: () => /redirected .* to file:\/\/.*; only https/ },
      { name: 'a redirect to data: is refused', path: '/to-data.yaml', message: () => /redirected .* to data:.*only https/ },
      { name: 'a redirect loop stops after 5 hops', path: '/loop/start.yaml', message: () => /more than 5 redirects/ },
      { name: 'a redirect without Location is refused', path: '/no-location.yaml', message: () => /answered HTTP 302 without a Location/ },
      { name: 'a server error is reported with its status', path: '/error.yaml', message: () => /error\.yaml answered HTTP 500/ },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const tip = await tipOf(manifestBare);
        const run = await generate(httpStatic(c.path));
        await refused(c.name, run, c.message(hostile.origin.replace(/\./g, '\\.')), tip);
        assert.match(run.errors.join('\n'), /component\.yaml.*subcomponents\[0\]\.source/, 'names the file and field');
        if (c.maxMs) assert.ok(run.elapsedMs < c.maxMs, `took ${run.elapsedMs} ms`);
      });
    }
  });

  describe('git component servers', () => {
    const gitComponent = (source: string, extra = '') => `  - name: remote\n    method: git\n    source: ${source}\n${extra}`;

    it('an info/refs that never answers hits the deadline (ls-remote), naming the server', async () => {
      const tip = await tipOf(manifestBare);
      const run = await generate(gitComponent(hostile.url('/never/comp.git'), '    branch: main\n'));
      await refused('git ls-remote never answers', run, new RegExp(`git ls-remote of .*/never/comp\\.git did not finish within ${NETWORK_TIMEOUT_S} s: ${hostile.origin.replace(/\./g, '\\.')} stalled`), tip);
      assert.ok(run.elapsedMs < 20_000, `took ${run.elapsedMs} ms`);
    });

    it('an info/refs that never answers hits the deadline (fetch of a pinned commit)', async () => {
      const tip = await tipOf(manifestBare);
      const run = await generate(gitComponent(hostile.url('/never/pinned.git'), `    version: ${'a'.repeat(40)}\n`));
      await refused('git fetch never answers', run, /git fetch of .*\/never\/pinned\.git did not finish within 3 s/, tip);
      assert.ok(run.elapsedMs < 20_000, `took ${run.elapsedMs} ms`);
    });

    it('a git server dripping one byte at a time hits the deadline', async () => {
      const tip = await tipOf(manifestBare);
      const run = await generate(gitComponent(hostile.url('/drip-git/comp.git'), '    version: v1\n'));
      await refused('git clone drips', run, /git clone of .*\/drip-git\/comp\.git did not finish within 3 s: .* stalled/, tip);
      assert.ok(run.elapsedMs < 20_000, `took ${run.elapsedMs} ms`);
    });

    it('never forwards an access.yaml token through a redirect to another host', async () => {
      const tip = await tipOf(manifestBare);
      const secretToken = 'component-token-0123456789abcdef';
      const source = hostile.url('/redirect-git/comp.git');
      const seenBefore = elsewhere.requests.length;
      const run = await generate(gitComponent(source, '    branch: main\n'), {
        files: { 'access.yaml': `${JSON.stringify(source)}: COMPONENT_TOKEN\n` },
        env: { COMPONENT_TOKEN: secretToken },
      });
      await refused('git redirect with token', run, /git ls-remote of .*redirect-git\/comp\.git failed/, tip);
      const sent = hostile.requests.filter((r) => r.url.startsWith('/redirect-git'));
      assert.ok(sent.some((r) => /^basic /i.test(String(r.headers.authorization ?? ''))), `the token went to its own server: ${JSON.stringify(sent)} ${run.errors}`);
      const forwarded = elsewhere.requests.slice(seenBefore).filter((r) => r.headers.authorization);
      assert.deepEqual(forwarded, [], 'no credentials reached the other host');
      assert.ok(!run.stdout.includes(secretToken) && !run.stderr.includes(secretToken));
    });

    it('a fetched chart whose file is a symlink to an agent file is refused before helm reads it', async () => {
      const tip = await tipOf(manifestBare);
      const url = await pushTree(git, 'chart-symlink', {
        'chart/Chart.yaml': 'apiVersion: v2\nname: leak\nversion: 0.1.0\n',
        'chart/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n  stolen: {{ .Files.Get "files/secret.yaml" | quote }}\n',
        'chart/files/secret.yaml': { link: canary.file },
      });
      const run = await generate(`  - name: leak\n    type: helm\n    method: git\n    source: ${url}\n    path: chart\n    branch: main\n`, { tokenFor: url });
      await refused('git chart with symlink out', run, /symlink "chart\/files\/secret\.yaml" points outside the files fetched from .*chart-symlink/, tip);
    });

    it('a fetched component with a symlinked manifests folder pointing at the agent is refused', async () => {
      const tip = await tipOf(manifestBare);
      const url = await pushTree(git, 'folder-symlink', {
        'component.yaml': 'name: comp\nsubcomponents:\n  - name: files\n    type: static\n    path: ./manifests\n',
        manifests: { link: canary.dir },
      });
      const run = await generate(gitComponent(url, '    branch: main\n'), { tokenFor: url });
      await refused('git component with folder symlink out', run, /symlink "manifests" points outside the files fetched from .*folder-symlink/, tip);
    });

    it('a fetched component whose static path climbs out with ../.. is refused', async () => {
      const tip = await tipOf(manifestBare);
      // The HLD's temp folder is a sibling of the canary's: climb from components/comp to it.
      const probe = tempDir('hostile-hld-');
      const climb = relative(join(probe, 'components', 'comp'), canary.dir);
      const url = await pushTree(git, 'climb-out', {
        'component.yaml': `name: comp\nsubcomponents:\n  - name: stolen\n    type: static\n    path: ${climb}\n`,
      });
      const run = await generate(gitComponent(url, '    branch: main\n'), { tokenFor: url });
      await refused('git component static path ../..', run, /static component stolen: manifests folder ".*canary-.*" resolves outside the fetched files of components\/remote/, tip);
    });

    it('a git component whose path climbs out of its fetched tree is refused', async () => {
      const tip = await tipOf(manifestBare);
      const url = await pushTree(git, 'path-out', { 'component.yaml': 'name: comp\n' });
      const run = await generate(gitComponent(url, '    branch: main\n    path: ../../..\n'), { tokenFor: url });
      await refused('git component path ../../..', run, /component remote: path "\.\.\/\.\.\/\.\." resolves outside the files fetched from its source/, tip);
    });

    it('a git chart whose path climbs out is refused', async () => {
      const tip = await tipOf(manifestBare);
      const url = await pushTree(git, 'chart-path-out', { 'chart/Chart.yaml': 'apiVersion: v2\nname: c\nversion: 0.1.0\n' });
      const run = await generate(`  - name: c\n    type: helm\n    method: git\n    source: ${url}\n    path: ../../chart\n    branch: main\n`, { tokenFor: url });
      await refused('git chart path ../..', run, /chart path "\.\.\/\.\.\/chart" must not contain "\.\."/, tip);
    });

    it('ls-remote uses the clone URL with its .git suffix (a server that only knows comp.git)', async () => {
      const url = await pushTree(git, 'suffix/comp.git', {
        'component.yaml': 'name: comp\nsubcomponents:\n  - name: files\n    type: static\n    path: ./manifests\n',
        'manifests/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-suffix\n',
      });
      // A strict front: only paths that keep `.git` reach the real server.
      const strict = await new HostileServer({}, (req, res) => {
        if (!/^\/suffix\/comp\.git\//.test(req.url ?? '')) {
          res.writeHead(404);
          res.end('repository not found');
          return;
        }
        const target = new URL(url);
        const upstream = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        req.pipe(upstream);
      }).start();
      try {
        const source = `${strict.origin}/suffix/comp.git`;
        const run = await generate(gitComponent(source, '    branch: main\n'), { inputs: { manifestRepositoryUrl: '' }, tokenFor: source });
        assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout.slice(-2000)}`);
        assert.ok(strict.requests.every((r) => r.url.startsWith('/suffix/comp.git/')), 'every request kept .git');
        assert.match(filesBelow(run.outputs.renderedPath)[join(run.outputs.renderedPath, 'prod', 'remote', 'files.yaml')] ?? '', /from-suffix/);
      } finally {
        await strict.stop();
      }
    });
  });

  describe('chart repositories', () => {
    for (const [label, path] of [['never answers index.yaml', '/charts-never'], ['drips index.yaml', '/charts-drip']]) {
      it(`a chart repository that ${label} hits the deadline, naming the repository`, async () => {
        const tip = await tipOf(manifestBare);
        const run = await generate(`  - name: chart\n    type: helm\n    method: helm\n    source: ${hostile.url(path)}\n    path: mychart\n    version: 1.0.0\n`);
        await refused(`chart repository ${label}`, run, new RegExp(`helm pull failed for ${hostile.url(path).replace(/\./g, '\\.')} chart mychart: .*did not finish within ${NETWORK_TIMEOUT_S} s`), tip);
        assert.ok(run.elapsedMs < 20_000, `took ${run.elapsedMs} ms`);
      });
    }
  });

  describe('helm mirrors (helmVersion + helmDownloadUrl)', () => {
    const helmInstall = async (name: string, mirror: string, message: RegExp, maxMs?: number, inputs: Record<string, string> = {}) => {
      const tip = await tipOf(manifestBare);
      const tools = tempDir('hostile-tools-');
      const run = await generate(`  - name: base\n    type: static\n    path: ./manifests\n`, {
        files: { 'manifests/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\n' },
        inputs: { helmPath: '', helmVersion, helmDownloadUrl: hostile.url(`/mirror/${mirror}`), ...inputs },
        variables: { 'Agent.ToolsDirectory': tools },
      });
      await refused(name, run, message, tip);
      const helmDir = join(tools, 'helm');
      const left = existsSync(helmDir) ? readdirSync(helmDir, { recursive: true }).map(String) : [];
      assert.ok(!left.some((file) => file.endsWith('.complete')), `no .complete marker: ${left.join(', ')}`);
      assert.ok(!left.some((file) => file.endsWith(join(arch(), 'helm'))), `no helm installed: ${left.join(', ')}`);
      if (maxMs) assert.ok(run.elapsedMs < maxMs, `took ${run.elapsedMs} ms`);
    };

    it('an archive whose helm member is a symlink to an agent file is refused; the target keeps its mode', () =>
      helmInstall('helm symlink member', 'symlink', /linux-amd64\/helm in the helm archive from .* is not a regular file|is not a regular file/));

    it('an archive whose helm member is a hard link is refused', () =>
      helmInstall('helm hardlink member', 'hardlink', /is not a regular file/));

    it('an archive with the helm member twice (file, then symlink) is refused', () =>
      helmInstall('helm duplicate member', 'duplicate', /holds 2 entries named .*\/helm; expected one regular file/));

    it('a binary that does not run is not installed and gets no .complete marker', () =>
      helmInstall('helm binary does not run', 'runsnot', /does not run \(helm version --short\): not helm/));

    it('a gzip-encoded bomb as the archive is cut at the cap (decompressed bytes)', () =>
      helmInstall('helm archive gzip bomb', 'bomb', /sent more than the limit of 268435456 bytes \(after decompression\)/, undefined, { networkTimeoutSeconds: '40' }));

    it('a dripping archive hits the deadline', () =>
      helmInstall('helm archive drip', 'drip', new RegExp(`did not finish the download of .*${archiveName.replace(/\./g, '\\.')} within ${NETWORK_TIMEOUT_S} s`), 20_000));

    it('an endless .sha256sum is cut at 64 KB', () =>
      helmInstall('helm endless checksum', 'endless-sum', /sent more than the limit of 65536 bytes/));

    it('a redirect of the archive to plain http on another host is refused', () =>
      helmInstall('helm redirect to http', 'insecure', /redirected .* to http:\/\/192\.0\.2\.10\/.*only https redirects/));
  });

  describe('bounds', () => it('every refused run stayed within the time and memory bounds', () => {
    assert.ok(measured.length >= 20, `${measured.length} refused runs measured`);
    assert.ok(measured.every((m) => m.ms < bounds.elapsedMs && m.mb < bounds.peakRssMb));
  }));
});
