/**
 * Hostile arguments against the bundled CLI (dist/cli.js): each is refused with exit code 1 and a
 * message naming the flag (or the key) the user typed, with the same containment checks as the
 * tasks' suite: nothing pushed, nothing written outside, no injected command, no token printed or
 * in any git argv.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bundleOnce, runCli } from '../tasks/updateImageTagHelpers';
import { assertContained, hldFiles, payload, startFixture, stateBefore, type Fixture } from './hostileInput.support';

interface CliCase {
  what: string;
  args: (f: Fixture) => string[];
  names: RegExp;
  /** Working directory; default: a folder inside the canary holding an HLD (not a git checkout). */
  cwd?: (f: Fixture) => string;
}

const hldIn = (f: Fixture) => join(f.canary, 'hld');
const tokenUrl = (f: Fixture, name: string) => `${f.server.baseUrl.replace('://', `://${f.urlToken}@`)}/${name}`;
const promote = (f: Fixture, extra: string[]) => ['promote', '--source', '127.0.0.1:9/api:1.0', '--target-registry', '127.0.0.1:10', '--no-verify', ...extra];
const updateTag = (f: Fixture, extra: string[]) => ['update-image-tag', '--hld-repo', f.urls.hld, '--environment', 'prod', '--subcomponent', 'api', '--tag', 'v2', ...extra];

const cases: CliCase[] = [
  { what: 'publish --hld-branch=--upload-pack=<command> with a file:// HLD', names: /--hld-branch/,
    args: (f) => ['publish', '--hld-repo', f.fileHld.url, `--hld-branch=--upload-pack=${payload(f, 'cli-file')}; git-upload-pack`] },
  { what: 'publish --hld-branch=--upload-pack=<command> with a local-path HLD', names: /--hld-branch/,
    args: (f) => ['publish', '--hld-repo', f.fileHld.bare, `--hld-branch=--upload-pack=${payload(f, 'cli-path')}; git-upload-pack`] },
  { what: 'publish --branch=-x', names: /--branch/, args: (f) => ['publish', '--hld-repo', f.urls.hld, '--manifest-repo', f.urls.manifests, '--branch=-x'] },
  { what: 'publish --path .git', names: /--path/, args: (f) => ['publish', '--hld-repo', f.urls.hld, '--manifest-repo', f.urls.manifests, '--path', '.git'] },
  { what: 'publish --pr-target-branch=--delete', names: /--pr-target-branch/,
    args: (f) => ['publish', '--hld-repo', f.urls.hld, '--manifest-repo', f.urls.manifests, '--push-mode', 'pullRequest', '--pr-target-branch=--delete'] },
  { what: 'publish --output onto the HLD', names: /--output/, args: (f) => ['publish', '--hld', hldIn(f), '--output', hldIn(f)] },
  { what: 'publish --hld-repo with a token as user name', names: /--hld-repo/, args: (f) => ['publish', '--hld-repo', tokenUrl(f, 'no-such-hld')] },
  { what: 'publish --manifest-repo=-oProxyCommand=<command>', names: /--manifest-repo/,
    args: (f) => ['publish', '--hld-repo', f.urls.hld, `--manifest-repo=-oProxyCommand=${payload(f, 'cli-ssh')}`] },
  { what: 'update-image-tag --hld-branch refs/heads/-x', names: /--hld-branch/, args: (f) => updateTag(f, ['--hld-branch', 'refs/heads/-x']) },
  { what: 'update-image-tag --tag-key __proto__.polluted', names: /--tag-key/, args: (f) => updateTag(f, ['--tag-key', '__proto__.polluted']) },
  { what: 'update-image-tag --set constructor.prototype.x=1', names: /--set/, args: (f) => updateTag(f, ['--set', 'constructor.prototype.x=1']) },
  { what: 'update-image-tag --subcomponent __proto__', names: /--subcomponent/, args: (f) => updateTag(f, ['--subcomponent', '__proto__']) },
  { what: 'update-image-tag --component-path .git', names: /--component-path/, args: (f) => updateTag(f, ['--component-path', '.git']) },
  { what: 'update-image-tag --hld-repo with a token as user name', names: /--hld-repo/,
    args: (f) => ['update-image-tag', '--hld-repo', tokenUrl(f, 'no-such-hld'), '--environment', 'prod', '--subcomponent', 'api', '--tag', 'v2'] },
  { what: 'set __proto__.polluted=yes', names: /__proto__.*reserved/, args: () => ['set', '--environment', 'prod', '__proto__.polluted=yes'], cwd: hldIn },
  { what: 'set a."constructor".x=1', names: /constructor.*reserved/, args: () => ['set', '--environment', 'prod', 'a."constructor".x=1'], cwd: hldIn },
  { what: 'set --subcomponent api.prototype', names: /subcomponent/, args: () => ['set', '--environment', 'prod', '--subcomponent', 'api.prototype', 'x=1'], cwd: hldIn },
  { what: 'set --environment __proto__', names: /--environment/, args: () => ['set', '--environment', '__proto__', 'x=1'], cwd: hldIn },
  { what: 'promote --target-registry localhost:99999', names: /--target-registry/, args: () => ['promote', '--source', '127.0.0.1:9/api:1.0', '--target-registry', 'localhost:99999', '--no-verify'] },
  { what: 'promote --target-tag=-x', names: /^error: --target-tag/, args: (f) => promote(f, ['--target-tag=-x']) },
  { what: 'promote --target-repository team/API', names: /^error: --target-repository/, args: (f) => promote(f, ['--target-repository', 'team/API']) },
  { what: 'promote --verify-branch=--upload-pack=<command>', names: /--verify-branch/,
    args: (f) => ['promote', '--source', '127.0.0.1:9/api:1.0', '--target-registry', '127.0.0.1:10', '--verify-repo', f.fileHld.url, `--verify-branch=--upload-pack=${payload(f, 'cli-verify')}`] },
  { what: 'promote --verify-sync-tag=-x', names: /--verify-sync-tag/,
    args: (f) => ['promote', '--source', '127.0.0.1:9/api:1.0', '--target-registry', '127.0.0.1:10', '--verify-repo', f.urls.manifests, '--verify-sync-tag=-x'] },
  { what: 'promote --hld-branch=-x', names: /--hld-branch/, args: (f) => promote(f, ['--hld-repo', f.urls.hld, '--environment', 'prod', '--subcomponent', 'api', '--hld-branch=-x']) },
  { what: 'generate --output onto the HLD', names: /--output/, args: (f) => ['generate', 'prod', '--hld', hldIn(f), '--output', hldIn(f)] },
  { what: 'generate --output above the HLD', names: /--output/, args: (f) => ['generate', 'prod', '--hld', hldIn(f), '--output', f.canary] },
];

function cli(f: Fixture, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(args, {
    PATH: f.path, BEDROCK_GITOPS_VERBOSE: '1',
    GITOPS_GIT_TOKEN: f.server.token, GITOPS_TARGET_REGISTRY_USERNAME: 'ci', GITOPS_TARGET_REGISTRY_PASSWORD: f.registryPassword,
  }, { cwd });
}

describe('hostile arguments against the bundled CLI', function () {
  this.timeout(300_000);
  let f: Fixture;

  before(async () => {
    await bundleOnce();
    f = await startFixture({ hld: hldFiles, manifests: { 'prod/hld/api/settings.yaml': 'old\n' } });
    for (const [path, content] of Object.entries(hldFiles)) {
      mkdirSync(dirname(join(hldIn(f), path)), { recursive: true });
      writeFileSync(join(hldIn(f), path), content);
    }
  });
  after(async () => f?.server.stop());

  for (const c of cases) {
    it(`refuses ${c.what}`, async () => {
      const before = await stateBefore(f);
      const result = await cli(f, c.args(f), c.cwd?.(f) ?? f.markers.replace(/[^/]+$/, ''));
      assert.equal(result.code, 1, `exit ${result.code}\n${result.stderr}`);
      const message = result.stderr.split('\n').filter((line) => line.startsWith('error: ')).join('\n');
      await assertContained(f, { texts: { stdout: result.stdout, stderr: result.stderr }, message }, c.names, before);
    });
  }
});
