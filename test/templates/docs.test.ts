import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { pngSize, taskNames } from '../extension/extensionFiles';
import { tempDir } from '../support/tmp';
import { repoRoot } from '../support/tools';
import { checkPipeline } from './support/checks';
import type { Value } from './support/expressions';
import { allowedBuiltInTasks, loadOurTasks } from './support/tasks';
import { templatesDirOf, validateFile } from './support/validate';

const repositoryUrl = 'https://github.com/bedrock-gitops/bedrock-gitops-azure-pipelines';
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const overview = readFileSync(join(repoRoot, 'overview.md'), 'utf8');

/** GitHub's anchor of a Markdown heading. */
const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
const anchorsOf = (markdown: string) => new Set([...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1])));
const yamlBlocks = (markdown: string) => [...markdown.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);

describe('README and Marketplace overview', () => {
  it('every link to a README anchor (vss-extension.json, overview.md) resolves to a heading', () => {
    const texts = [readFileSync(join(repoRoot, 'vss-extension.json'), 'utf8'), overview, readme];
    const anchors = anchorsOf(readme);
    const links = texts.flatMap((t) => [...t.matchAll(new RegExp(`${repositoryUrl.replace(/[./]/g, '\\$&')}(?:/blob/main/README\\.md)?#([a-z0-9-]+)`, 'g')), ...t.matchAll(/\]\(#([a-z0-9-]+)\)/g)].map((m) => m[1]));
    assert.ok(links.includes('quick-start'), 'the Marketplace "Get started" link');
    for (const link of links) assert.ok(anchors.has(link), `#${link} is not a heading of README.md`);
  });

  it('shows the run summary and the pull-request comment as screenshots made by scripts/render-report-images.ts', () => {
    for (const image of ['run-summary.png', 'pull-request-comment.png']) {
      assert.match(readme, new RegExp(`\\]\\(images/${image.replace('.', '\\.')}\\)`));
      const file = join(repoRoot, 'images', image);
      assert.ok(existsSync(file), image);
      assert.equal(pngSize(readFileSync(file))?.width, 1000, image);
    }
    assert.match(overview, /\]\(images\/pull-request-comment\.png\)/);
  });

  it('README, overview and task docs quote only the ratios of the one benchmark table (bench/results.md)', () => {
    const table = readFileSync(join(repoRoot, 'bench', 'results.md'), 'utf8');
    const measured = new Set(table.match(/\d+\.\d+x/g));
    assert.ok(readme.includes(table.slice(table.indexOf('| benchmark |')).trim().split('\n').slice(0, 3).join('\n')), 'README holds the table');
    const docs = [readme, overview, ...taskNames.map((t) => readFileSync(join(repoRoot, 'tasks', t, 'README.md'), 'utf8'))];
    for (const doc of docs) {
      const prose = doc.split('\n').filter((line) => !line.startsWith('| ') || /releaseNotes/.test(line)).join('\n');
      for (const ratio of prose.match(/\d+\.\d+(-\d+\.\d+)?x/g) ?? []) assert.ok(measured.has(ratio), `${ratio} is not in the benchmark table`);
    }
  });

  it('overview.md states the prerequisites, proxy and certificate notes, access.yaml and a templates snippet', () => {
    for (const topic of [/## Before you start/, /\bgit\b.*PATH/, /helmVersion/, /Linux or macOS/, /HTTPS_PROXY/, /Agent\.CAInfo/, /--ca-file/, /access\.yaml/, /template: gitops\.yml@gitops/]) {
      assert.match(overview, topic);
    }
  });

  it('overview.md\'s task snippets are valid for task.json and its templates snippet expands and validates', async () => {
    const tasks = loadOurTasks();
    const validator = { tasks, builtIns: new Set(allowedBuiltInTasks.map((t) => t.toLowerCase())), templatesDir: templatesDirOf(repoRoot) };
    let pipelines = 0;
    for (const block of yamlBlocks(overview)) {
      const document = yaml.load(block, { schema: yaml.FAILSAFE_SCHEMA }) as Value;
      if (Array.isArray(document)) {
        assert.deepEqual(checkPipeline({ steps: document }, { tasks, builtIns: validator.builtIns, complete: false }), [], block);
      } else if (document && typeof document === 'object' && 'resources' in document) {
        pipelines++;
        const file = join(tempDir('bg-docs-'), 'azure-pipelines.yml');
        writeFileSync(file, block);
        assert.deepEqual(await validateFile(validator, file, {}, ['bedrock-gitops/bedrock-gitops-azure-pipelines']), [], block);
      }
    }
    assert.equal(pipelines, 1);
  });
});
