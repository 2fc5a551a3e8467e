// A re-render with the cache (issue 12, "Speed"): no helm process at all when nothing changed (the
// helm version is remembered per binary, each chart's hash per stat fingerprint), and a chart
// edited between runs, even to the same size, is rendered again.
import { strict as assert } from 'node:assert';
import { chmodSync, cpSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryLogger } from '../../../tasks/core/logger';
import { generate, RenderedTree } from '../../../tasks/core/render/generate';
import { createChart } from '../../support/chartRepo';
import { writeTree } from '../../support/hldFixtures';
import { helm4 } from '../../support/tools';
import { tempDir } from '../../support/tmp';

describe('warm re-render with the cache', () => {
  let hld: string;
  let log: string;
  let helm: string;
  const cacheDir = tempDir('bg-cache-');
  before(async () => {
    hld = writeTree(tempDir('bg-hld-'), { 'component.yaml': 'name: root\nsubcomponents:\n  - name: web\n    type: helm\n    path: ./charts/web\n' });
    cpSync(await createChart(helm4, 'web', (dir) => writeFileSync(join(dir, 'templates', 'note.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: note\ndata:\n  text: aaaa\n')), join(hld, 'charts', 'web'), { recursive: true });
    // A helm that logs its subcommand, then runs the real one.
    log = join(tempDir(), 'helm.log');
    helm = join(tempDir(), 'helm');
    writeFileSync(helm, `#!/bin/sh\necho "$1" >> "${log}"\nexec "${helm4}" "$@"\n`);
    chmodSync(helm, 0o755);
  });

  const run = (): Promise<RenderedTree> =>
    generate({ hldDir: hld, helmPath: helm, cacheDir, environmentSets: [[]], outputDir: join(hld, 'generated'), env: { PATH: process.env.PATH }, logger: new MemoryLogger() });
  const calls = (): string[] => readFileSync(log, 'utf8').trim().split('\n');
  const web = (tree: RenderedTree) => tree.environmentSets[0].files.find((f) => f.path === 'web.yaml')!.content;

  it('starts no helm process when nothing changed', async () => {
    const first = await run();
    assert.deepEqual(calls(), ['version', 'template']);
    const second = await run();
    assert.deepEqual(calls(), ['version', 'template'], 'the second run started helm');
    assert.equal(second.stats.renderCacheHits, 1);
    assert.equal(web(second), web(first));
  });

  it('renders again a chart edited to the same size, and one whose file became a symlink', async () => {
    const note = join(hld, 'charts', 'web', 'templates', 'note.yaml');
    const before = readFileSync(note);
    writeFileSync(note, readFileSync(note, 'utf8').replace('aaaa', 'bbbb'));
    // Even with the old modification time put back (the change time still moves).
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(note, old, old);
    assert.equal(readFileSync(note).length, before.length);
    const edited = await run();
    assert.equal(edited.stats.helmTemplates, 1);
    assert.match(web(edited), /text: bbbb/);

    writeFileSync(join(hld, 'charts', 'web', 'note-source.yaml'), readFileSync(note, 'utf8').replace('bbbb', 'cccc'));
    rmSync(note);
    symlinkSync('../note-source.yaml', note);
    const linked = await run();
    assert.equal(linked.stats.helmTemplates, 1);
    assert.match(web(linked), /text: cccc/);
  });
});
