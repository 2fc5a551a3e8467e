/**
 * The two building blocks behind the hostile suites, tested directly: the containment rule
 * (tasks/core/paths.ts) and bounded downloads (tasks/core/download.ts).
 */
import { strict as assert } from 'node:assert';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { downloadToFile } from '../../tasks/core/download';
import { GitopsError } from '../../tasks/core/errors';
import { assertTreeInside, checkoutRoot, copyConfined, realPathInside } from '../../tasks/core/paths';
import { syncEnvironmentFolders } from '../../tasks/core/jobs/manifestSync';
import type { RenderedEnvironmentSet } from '../../tasks/core/render';
import { diffTrees } from '../../tasks/core/report';
import { tempDir } from '../support/tmp';
import { Canary, HostileServer, writeTree } from './support';

async function rejection(promise: Promise<unknown>): Promise<GitopsError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof GitopsError, `expected a GitopsError, got ${String(error)}`);
  return error;
}

describe('containment rule (tasks/core/paths.ts)', () => {
  const canary = new Canary();

  it('resolves a path that does not exist yet through its nearest existing ancestor', async () => {
    const root = writeTree(tempDir('contain-'), { 'config/keep.txt': 'x', out: { link: canary.dir } });
    assert.equal(await realPathInside(root, join(root, 'config', 'new', 'prod.yaml'), { what: 'config file' }), join(await realPathOf(root), 'config', 'new', 'prod.yaml'));
    const error = await rejection(realPathInside(root, join(root, 'out', 'new.yaml'), { what: 'config file' }));
    assert.match(error.message, /config file "out\/new\.yaml" resolves outside the repository/);
  });

  it('follows a dangling symlink to where a write through it would land', async () => {
    const root = writeTree(tempDir('contain-'), {
      'config/keep.txt': 'x',
      'config/prod.yaml': { link: '../library/prod.yaml' },
      'config/east.yaml': { link: join(canary.dir, 'planted.yaml') },
      'config/chain.yaml': { link: 'east.yaml' },
      'config/loop.yaml': { link: 'loop2.yaml' },
      'config/loop2.yaml': { link: 'loop.yaml' },
    });
    assert.equal(await realPathInside(root, join(root, 'config', 'prod.yaml'), { what: 'config file' }), join(await realPathOf(root), 'library', 'prod.yaml'));
    for (const name of ['east', 'chain']) {
      const error = await rejection(realPathInside(root, join(root, 'config', `${name}.yaml`), { what: 'config file' }));
      assert.match(error.message, new RegExp(`config file "config/${name}\\.yaml" resolves outside the repository`));
    }
    assert.match((await rejection(realPathInside(root, join(root, 'config', 'loop.yaml'), { what: 'config file' }))).message, /symlinks loop/);
  });

  it('manifest repository: environment folders are replaced and read without following symlinks out', async () => {
    const victim = writeTree(tempDir('contain-victim-'), { 'east/prod/keep.txt': 'precious\n' });
    const repo = writeTree(tempDir('contain-manifests-'), {
      'clusters': { link: victim },
      'real/west/prod/old.yaml': 'kind: ConfigMap\n',
      'inner': { link: 'real' },
      'dev': { link: 'real/west/prod' },
    });
    const rendered = (name: string): RenderedEnvironmentSet => ({ name, files: [{ path: 'app.yaml', content: 'kind: Service\n' }] });
    // A manifestPath through a link out of the clone: refused by the diff and by the sync, nothing touched.
    assert.throws(() => diffTrees(repo, [], ['clusters/east/prod']), (e: unknown) => e instanceof GitopsError && e.field === 'manifestPath' && /resolves outside the manifest repository/.test(e.message));
    await rejection(syncEnvironmentFolders(repo, 'clusters/east', [rendered('prod')]));
    assert.deepEqual(readdirSync(join(victim, 'east', 'prod')), ['keep.txt']);
    // A link inside the clone on the way is followed.
    assert.deepEqual(diffTrees(repo, [{ path: 'inner/west/prod/old.yaml', content: 'kind: ConfigMap\n' }], ['inner/west/prod']).changed, false);
    await syncEnvironmentFolders(repo, 'inner/west', [rendered('prod')]);
    assert.deepEqual(readdirSync(join(repo, 'real', 'west', 'prod')), ['app.yaml']);
    // The environment folder itself as a symlink: an entry holding no files, replaced by a real folder.
    assert.deepEqual(diffTrees(repo, [], ['dev']).environments[0].files, []);
    await syncEnvironmentFolders(repo, '', [rendered('dev')]);
    assert.ok(!lstatSync(join(repo, 'dev')).isSymbolicLink());
    assert.deepEqual(readdirSync(join(repo, 'real', 'west', 'prod')), ['app.yaml']);
  });

  it('copies a fetched tree as regular files: inner symlinks become copies, outer ones are refused', async () => {
    const source = writeTree(tempDir('contain-src-'), {
      'a/real.yaml': 'real',
      'a/alias.yaml': { link: 'real.yaml' },
      'linked-dir': { link: 'a' },
      'dangling.yaml': { link: 'missing.yaml' },
    });
    const destination = join(tempDir('contain-dst-'), 'copy');
    await copyConfined(source, destination, source, 'the test tree');
    assert.equal(readFileSync(join(destination, 'a', 'alias.yaml'), 'utf8'), 'real');
    assert.ok(lstatSync(join(destination, 'a', 'alias.yaml')).isFile());
    assert.ok(lstatSync(join(destination, 'linked-dir')).isDirectory());
    assert.ok(!existsSync(join(destination, 'dangling.yaml')));
    writeTree(source, { 'a/leak.yaml': { link: canary.file } });
    const error = await rejection(copyConfined(source, join(tempDir('contain-dst-'), 'copy'), source, 'the test tree'));
    assert.match(error.message, /symlink "a\/leak\.yaml" points outside the test tree/);
  });

  it('refuses a symlinked folder that loops back to its ancestor', async () => {
    const source = writeTree(tempDir('contain-loop-'), { 'a/file.yaml': 'x', 'a/again': { link: '..' } });
    const error = await rejection(copyConfined(source, join(tempDir('contain-dst-'), 'copy'), source, 'the test tree'));
    assert.match(error.message, /symlink "a\/again" loops back/);
    await rejection(assertTreeInside(source, source, 'the test tree'));
  });

  it('stops a tree whose symlinked folders multiply it', async () => {
    // Each level links the next one 8 times: 8^6 = 262144 paths from 49 entries.
    const files: Record<string, string | { link: string }> = { 'l6/leaf.yaml': 'x' };
    for (let level = 0; level < 6; level++) {
      for (let i = 0; i < 8; i++) files[`l${level}/n${i}`] = { link: `../l${level + 1}` };
    }
    const source = writeTree(tempDir('contain-fan-'), files);
    const error = await rejection(assertTreeInside(source, join(source, 'l0'), 'the test tree'));
    assert.match(error.message, /more than 20000 files and folders reached through symlinked folders/);
  });

  it('takes the nearest folder holding .git as the checkout of an HLD folder', async () => {
    const checkout = writeTree(tempDir('contain-checkout-'), { '.git/HEAD': 'ref: refs/heads/main\n', 'hld/component.yaml': 'name: x\n' });
    assert.equal(await checkoutRoot(join(checkout, 'hld')), await realPathOf(checkout));
    const loose = writeTree(tempDir('contain-loose-'), { 'component.yaml': 'name: x\n' });
    assert.equal(await checkoutRoot(loose), await realPathOf(loose));
  });
});

describe('bounded downloads (tasks/core/download.ts)', () => {
  let server: HostileServer;
  let other: HostileServer;

  before(async () => {
    other = await new HostileServer({}, (_req, res) => { res.writeHead(200); res.end('other'); }).start();
    server = await new HostileServer({
      '/to-other': (_req, res) => { res.writeHead(302, { location: `${other.origin}/file.yaml` }); res.end(); },
      '/same': (_req, res) => { res.writeHead(302, { location: '/plain' }); res.end(); },
      '/plain': (_req, res) => { res.end('plain'); },
      '/chunked': (_req, res) => { res.write('abc'); setTimeout(() => res.end('def'), 50); },
    }).start();
  });

  after(async () => {
    await server?.stop();
    await other?.stop();
  });

  const limits = { deadlineMs: 5000, maxBytes: 1024 };

  it('sends request headers to the first origin only, never across a redirect to another host', async () => {
    const file = join(tempDir('download-'), 'file');
    const result = await downloadToFile({ url: server.url('/to-other'), headers: { authorization: 'Bearer secret-token' }, limits, what: 'test' }, file);
    assert.equal(result.status, 200);
    assert.equal(readFileSync(file, 'utf8'), 'other');
    assert.equal(server.requests.at(-1)?.headers.authorization, 'Bearer secret-token');
    assert.equal(other.requests.at(-1)?.headers.authorization, undefined);
  });

  it('keeps headers on a redirect within the same origin', async () => {
    const file = join(tempDir('download-'), 'file');
    await downloadToFile({ url: server.url('/same'), headers: { 'x-check': 'kept' }, limits, what: 'test' }, file);
    assert.equal(server.requests.at(-1)?.headers['x-check'], 'kept');
  });

  it('leaves no partial file when the cap is hit', async () => {
    const dir = tempDir('download-');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'keep'), '');
    const error = await rejection(downloadToFile({ url: server.url('/chunked'), limits: { deadlineMs: 5000, maxBytes: 4 }, what: 'test' }, join(dir, 'file')));
    assert.match(error.message, /sent more than the limit of 4 bytes/);
    assert.deepEqual(readdirSync(dir), ['keep']);
  });
});

async function realPathOf(path: string): Promise<string> {
  const { realpath } = await import('node:fs/promises');
  return realpath(path);
}
