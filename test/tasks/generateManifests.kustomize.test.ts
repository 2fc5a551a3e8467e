// The kustomize binary is a task input (kustomizePath) and a CLI flag (--kustomize): the given
// binary builds `type: kustomize` components, whatever kubectl or kustomize the PATH holds, and a
// missing one is refused naming the input or the flag.
import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from '../../tasks/core/exec';
import { ensureBundled } from '../support/bundle';
import { writeTree } from '../support/hldFixtures';
import { runTask } from '../support/runTask';
import { helm4, kubectl, repoRoot } from '../support/tools';
import { tempDir } from '../support/tmp';

describe('GenerateManifests kustomizePath / CLI --kustomize (bundles)', function () {
  this.timeout(240_000);
  before(async function () {
    this.timeout(120_000);
    await ensureBundled();
  });

  const hld = () => writeTree(tempDir('bg-kust-hld-'), {
    'component.yaml': 'name: root\nsubcomponents:\n  - name: web\n    type: kustomize\n    path: ./k\n',
    'k/kustomization.yaml': 'resources: [cm.yaml]\n',
    'k/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n',
    'config/prod.yaml': 'subcomponents:\n  web:\n    namespace: prod\n',
  });

  /** A kubectl that notes each run, then runs the real one. */
  function loggingKubectl(): { path: string; log: string } {
    const dir = tempDir('bg-kubectl-');
    const log = join(dir, 'runs.log');
    const path = join(dir, 'kubectl-logged');
    writeFileSync(path, `#!/bin/sh\necho "$1" >> "${log}"\nexec "${kubectl}" "$@"\n`);
    chmodSync(path, 0o755);
    return { path, log };
  }

  it('the task builds with the kubectl given as kustomizePath, and names the input when it is missing', async () => {
    const tool = loggingKubectl();
    const dir = hld();
    const output = join(tempDir('bg-out-'), 'rendered');
    const run = await runTask('GenerateManifests', { inputs: { hldPath: dir, environments: 'prod', helmPath: helm4, kustomizePath: tool.path, outputPath: output } });
    assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout.slice(-2000)}`);
    assert.equal(readFileSync(tool.log, 'utf8'), 'kustomize\n');
    assert.match(readFileSync(join(output, 'prod', 'web.yaml'), 'utf8'), /namespace: prod/);

    const missing = await runTask('GenerateManifests', { inputs: { hldPath: hld(), environments: 'prod', helmPath: helm4, kustomizePath: join(dir, 'no-such-kubectl'), outputPath: join(tempDir('bg-out-'), 'r') } });
    assert.equal(missing.result, 'Failed');
    assert.match(missing.message ?? '', /kustomizePath.*kustomize tool .*no-such-kubectl does not exist/);
  });

  it('the CLI generate --kustomize uses that binary; a missing one names the flag', async () => {
    const tool = loggingKubectl();
    const dir = hld();
    const cli = join(repoRoot, 'dist', 'cli.js');
    const env = { PATH: process.env.PATH, HOME: tempDir('bg-home-') };
    const ok = await runProcess(process.execPath, [cli, 'generate', 'prod', '--hld', dir, '--helm', helm4, '--kustomize', tool.path], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(existsSync(tool.log), 'the given kubectl ran');
    assert.match(readFileSync(join(dir, 'generated', 'prod', 'web.yaml'), 'utf8'), /namespace: prod/);
    const bad = await runProcess(process.execPath, [cli, 'generate', 'prod', '--hld', dir, '--helm', helm4, '--kustomize', join(dir, 'nope')], { env });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--kustomize.*kustomize tool .*nope does not exist/);
  });
});
