import { strict as assert } from 'node:assert';
import { diffTrees, renderChangeSummary, renderSummaryMarkdown, type TreeDiff } from '../../../tasks/core/report';

const configMap = (name: string, value: string, namespace = 'web'): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ndata:\n  value: "${value}"\n`;

function renderedChange(): TreeDiff {
  return diffTrees(undefined, [
    { path: 'prod/frontend.yaml', content: configMap('frontend', 'v2') },
    { path: 'prod/ns.yaml', content: 'kind: Namespace\nmetadata:\n  name: web\n' },
  ], ['prod', 'dev']);
}

describe('report: GenerateManifests summary', () => {
  it('lists each environment with a resource table, the files and their diffs', () => {
    const markdown = renderSummaryMarkdown({ diff: renderedChange(), commit: { sha: '0123456789abcdef0123', url: 'https://dev.azure.com/f/p/_git/m/commit/0123456789abcdef0123' } });
    assert.match(markdown, /^## Rendered manifests\n/);
    assert.match(markdown, /1 environment of 2 changed: prod\./);
    assert.match(markdown, /Commit: \[0123456789ab\]\(https:\/\/dev\.azure\.com\/f\/p\/_git\/m\/commit\/0123456789abcdef0123\)/);
    assert.match(markdown, /### prod\n\nResources: 2 added; files: 2 changed files, 0 unchanged\./);
    assert.match(markdown, /\| added \| ConfigMap \| web \| frontend \| prod/);
    assert.match(markdown, /\| added \| Namespace \| \(cluster\) \| web \| prod/);
    assert.match(markdown, /```diff\n--- \/dev\/null\n\+\+\+ b\/prod\/frontend\.yaml\n@@ -0,0 \+1,7 @@\n\+apiVersion: v1\n/);
    assert.match(markdown, /### dev\n\nNo changes \(0 files unchanged\)\./);
  });

  it('says when nothing changed', () => {
    const markdown = renderSummaryMarkdown({ diff: diffTrees(undefined, [], ['prod']), dryRun: true });
    assert.match(markdown, /Dry run: nothing was committed or pushed\./);
    assert.match(markdown, /No changes in 1 environment\./);
    assert.doesNotMatch(markdown, /```/);
  });

  it('escapes Markdown in resource names and paths', () => {
    const diff = diffTrees(undefined, [{ path: 'prod/a|b.yaml', content: configMap('x_[y]*', 'v', 'team|<b>') }], ['prod']);
    const markdown = renderSummaryMarkdown({ diff });
    assert.match(markdown, /\| added \| ConfigMap \| team\\\|\\<b\\> \| x\\_\\\[y\\\]\\\* \| prod\/a\\\|b\.yaml \|/);
  });

  it('never lets ##vso[ through verbatim, also from diff content', () => {
    const diff = diffTrees(undefined, [{ path: 'prod/a.yaml', content: configMap('evil', '##vso[task.setvariable variable=x]1') }], ['prod']);
    const markdown = renderSummaryMarkdown({ diff });
    assert.doesNotMatch(markdown, /##vso\[/i);
    assert.match(markdown, /##\u200bvso\[task\.setvariable/);
  });

  it('uses a longer fence when the diff itself contains backticks', () => {
    const diff = diffTrees(undefined, [{ path: 'prod/readme.txt', content: 'use ```yaml blocks\n' }], ['prod']);
    assert.match(renderSummaryMarkdown({ diff }), /````diff\n[\s\S]*\+use ```yaml blocks\n````\n/);
  });

  it('truncates diffs to the size limit and says how many lines and files are missing', () => {
    const files = Array.from({ length: 20 }, (_, i) => ({ path: `prod/cm-${i}.yaml`, content: configMap(`cm-${i}`, 'x'.repeat(200)) }));
    const diff = diffTrees(undefined, files, ['prod']);
    const markdown = renderSummaryMarkdown({ diff, maxBytes: 6_000 });
    assert.ok(Buffer.byteLength(markdown) <= 6_000, `summary is ${Buffer.byteLength(markdown)} bytes`);
    const note = /Diff truncated:\*\* (\d+) more lines in (\d+) files not shown/.exec(markdown);
    assert.ok(note, 'truncation note present');
    const shownDiffLines = (markdown.match(/^\+/gm) ?? []).length + (markdown.match(/^(---|@@) /gm) ?? []).length;
    assert.equal(shownDiffLines + Number(note[1]), 20 * 10, 'shown + omitted = every diff line');
    assert.ok(Number(note[2]) >= 1 && Number(note[2]) < 20);
    assert.match(markdown, /\| prod\/cm-19\.yaml \| added \|/, 'the file table is complete even when diffs are cut');
  });

  it('shows everything under the default 60 KB limit without a truncation note', () => {
    const markdown = renderSummaryMarkdown({ diff: renderedChange() });
    assert.doesNotMatch(markdown, /truncated/i);
  });
});

describe('report: UpdateImageTag / PromoteContainer summary', () => {
  it('tabulates file, key, old and new value with the pull request link', () => {
    const markdown = renderChangeSummary({
      title: 'Image tag updated for prod/frontend',
      changes: [
        { file: 'config/prod.yaml', key: 'subcomponents.frontend.config.image.tag', oldValue: '1.4.1', newValue: '1.4.2' },
        { file: 'config/prod.yaml', key: 'subcomponents.frontend.config.image.repository', newValue: 'prod.azurecr.io/frontend' },
      ],
      pullRequest: { id: 17, url: 'https://dev.azure.com/f/p/_git/hld/pullrequest/17' },
    });
    assert.match(markdown, /^## Image tag updated for prod\/frontend\n/);
    assert.match(markdown, /\| File \| Key \| Old value \| New value \|/);
    assert.match(markdown, /\| config\/prod\.yaml \| subcomponents\.frontend\.config\.image\.tag \| 1\.4\.1 \| 1\.4\.2 \|/);
    assert.match(markdown, /image\.repository \| \(not set\) \| prod\.azurecr\.io\/frontend \|/);
    assert.match(markdown, /Pull request: \[#17\]\(https:\/\/dev\.azure\.com\/f\/p\/_git\/hld\/pullrequest\/17\)/);
  });

  it('describes a promotion: images, digest, bytes copied, platforms', () => {
    const markdown = renderChangeSummary({
      title: 'Promoted frontend to prod',
      changes: [{ file: 'config/prod.yaml', key: 'image.tag', oldValue: '1.4.1', newValue: '1.4.2' }],
      commit: { sha: 'fedcba9876543210fedc' },
      promotion: {
        sourceImage: 'preprod.azurecr.io/frontend:1.4.2', targetImage: 'prod.azurecr.io/frontend:1.4.2',
        digest: 'sha256:' + 'a'.repeat(64), bytesCopied: 52_428_800, blobsCopied: 7, blobsSkipped: 2, platforms: ['linux/amd64', 'linux/arm64'],
      },
    });
    assert.match(markdown, /### Promotion/);
    assert.match(markdown, /\| Source \| preprod\.azurecr\.io\/frontend:1\.4\.2 \|/);
    assert.match(markdown, /\| Digest \| sha256:a{64} \|/);
    assert.match(markdown, /\| Copied \| 50\.0 MiB in 7 blobs, 2 already present \|/);
    assert.match(markdown, /\| Platforms \| linux\/amd64, linux\/arm64 \|/);
    assert.match(markdown, /Commit: fedcba987654\n/);
  });

  it('says why nothing changed', () => {
    const markdown = renderChangeSummary({ title: 'Image tag', changes: [], note: 'tag 1.4.2 was already set' });
    assert.match(markdown, /No configuration changed: tag 1\.4\.2 was already set/);
  });

  it('escapes values and neutralises logging commands', () => {
    const markdown = renderChangeSummary({ title: 'x', changes: [{ file: 'f.yaml', key: 'a|b', newValue: '##vso[task.complete result=Failed]' }] });
    assert.match(markdown, /\| a\\\|b \|/);
    assert.doesNotMatch(markdown, /##vso\[/);
  });
});
