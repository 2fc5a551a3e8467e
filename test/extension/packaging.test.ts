import { strict as assert } from 'node:assert';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from '../../tasks/core/exec';
import { tempDir } from '../support/tmp';
import { repoRoot } from '../support/tools';
import { ensureBundled } from '../support/bundle';
import { extensionManifest, readJson, TaskJson, taskJson, taskNames } from './extensionFiles';

const node = (script: string, args: string[] = []) => runProcess(process.execPath, [join(repoRoot, 'scripts', script), ...args], { cwd: repoRoot });

/** Names and selected file contents of a .vsix (a zip), read with Python's zipfile. */
async function readVsix(vsix: string, files: string[] = []): Promise<{ names: string[]; contents: Record<string, string> }> {
  const program = 'import json,sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nprint(json.dumps({"names":z.namelist(),"contents":{f:z.read(f).decode() for f in sys.argv[2:]}}))';
  const result = await runProcess('python3', ['-c', program, vsix, ...files]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

/** A copy of what packaging reads, so a test can break one file without touching the repository. */
function projectCopy(): string {
  const dir = tempDir('bg-project-');
  for (const file of ['vss-extension.json', 'vss-extension.dev.json', 'overview.md', 'package.json', 'package-lock.json', 'action.yml']) cpSync(join(repoRoot, file), join(dir, file));
  cpSync(join(repoRoot, 'images'), join(dir, 'images'), { recursive: true });
  for (const task of taskNames) {
    mkdirSync(join(dir, 'tasks', task), { recursive: true });
    for (const file of ['task.json', 'icon.png', 'dist']) cpSync(join(repoRoot, 'tasks', task, file), join(dir, 'tasks', task, file), { recursive: true });
  }
  return dir;
}

describe('extension package (.vsix)', () => {
  const { publisher, id, version } = extensionManifest();
  const devId = readJson<{ id: string }>(join(repoRoot, 'vss-extension.dev.json')).id;
  let out: string;
  let prodOutput: string;

  before(async () => {
    await ensureBundled();
    out = tempDir('bg-vsix-');
    const [prod, dev] = await Promise.all([node('package.mjs', ['--out', out]), node('package.mjs', ['--dev', '--out', join(out, 'dev')])]);
    assert.equal(prod.code, 0, prod.stdout + prod.stderr);
    assert.equal(dev.code, 0, dev.stdout + dev.stderr);
    prodOutput = prod.stdout;
  });

  it('holds each task\'s bundle, lib.json, task.json and icon', async () => {
    const { names } = await readVsix(join(out, `${publisher}.${id}-${version}.vsix`));
    for (const task of taskNames) {
      for (const file of ['dist/index.js', 'dist/lib.json', 'task.json', 'icon.png']) assert.ok(names.includes(`tasks/${task}/${file}`), `tasks/${task}/${file}`);
    }
    assert.ok(names.includes('overview.md'));
    assert.ok(names.includes('images/extension-icon.png'));
  });

  it('ships no sources, tests, SVG sources or node_modules', async () => {
    const { names } = await readVsix(join(out, `${publisher}.${id}-${version}.vsix`));
    const unwanted = names.filter((n) => /\.ts$|(^|\/)(test|src|node_modules|core)\/|\.svg$|\.sh$|README\.md$/.test(n));
    assert.deepEqual(unwanted, []);
  });

  it('prints each bundle\'s size and the .vsix size', () => {
    for (const task of taskNames) assert.match(prodOutput, new RegExp(`bundle tasks/${task}/dist/index.js: \\d+\\.\\d KiB`));
    assert.match(prodOutput, /vsix .*\.vsix: \d+\.\d KiB/);
  });

  it('builds a dev variant with its own extension id and its own task GUIDs', async () => {
    const devTasks = taskNames.map((t) => `tasks/${t}/task.json`);
    const { contents } = await readVsix(join(out, 'dev', `${publisher}.${devId}-${version}.vsix`), ['extension.vsixmanifest', ...devTasks]);
    assert.notEqual(devId, id);
    assert.match(contents['extension.vsixmanifest'], new RegExp(`<Identity[^>]* Id="${devId}"`));
    const { devTaskId } = await import('../../scripts/package.mjs');
    for (const task of taskNames) {
      const staged = JSON.parse(contents[`tasks/${task}/task.json`]) as TaskJson;
      const prodId = taskJson(task).id;
      assert.notEqual(staged.id, prodId);
      assert.equal(staged.id, devTaskId(prodId), 'dev ids are derived deterministically');
      assert.ok(staged.friendlyName.length <= 40);
    }
  });

  it('derives dev task ids as RFC 4122 version-5 UUIDs', async () => {
    const { uuidV5 } = await import('../../scripts/package.mjs');
    // The RFC's DNS namespace and the value Python's uuid.uuid5 gives for www.example.com.
    assert.equal(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('fails when tfx warns about a task.json', async () => {
    const project = projectCopy();
    const file = join(project, 'tasks', 'UpdateImageTag', 'task.json');
    const task = JSON.parse(readFileSync(file, 'utf8'));
    task.friendlyName = 'A friendly name that is far longer than forty characters';
    writeFileSync(file, JSON.stringify(task));
    const result = await node('package.mjs', ['--project', project]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /warning: .*friendlyName/);
    assert.match(result.stderr, /warning\(s\): treated as errors/);
  });
});

describe('generated task READMEs', () => {
  it('are up to date with task.json', async () => {
    const result = await node('gen-task-docs.mjs', ['--check']);
    assert.equal(result.code, 0, result.stderr);
  });

  it('list every input and output of the task', () => {
    for (const task of taskNames) {
      const readme = readFileSync(join(repoRoot, 'tasks', task, 'README.md'), 'utf8');
      const json = taskJson(task);
      for (const input of json.inputs) assert.match(readme, new RegExp(`^\\| \`${input.name}\` \\|`, 'm'), `${task} ${input.name}`);
      for (const output of json.outputVariables) assert.match(readme, new RegExp(`^\\| \`${output.name}\` \\|`, 'm'), `${task} ${output.name}`);
    }
  });
});

/** A project copy whose extension and tasks are all at `version`, whatever the repository's own version is. */
function projectAtVersion(version: string): string {
  const project = projectCopy();
  const [Major, Minor, Patch] = version.split('.').map(Number);
  const manifest = join(project, 'vss-extension.json');
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/("version"\s*:\s*")[^"]*(")/, `$1${version}$2`));
  for (const task of taskNames) {
    const file = join(project, 'tasks', task, 'task.json');
    const json = readJson<TaskJson>(file);
    writeFileSync(file, `${JSON.stringify({ ...json, version: { Major, Minor, Patch } }, null, 2)}\n`);
  }
  for (const file of ['package.json', 'package-lock.json']) {
    const json = readJson<{ version: string; packages?: Record<string, { version?: string }> }>(join(project, file));
    json.version = version;
    if (json.packages?.['']) json.packages[''].version = version;
    writeFileSync(join(project, file), `${JSON.stringify(json, null, 2)}\n`);
  }
  return project;
}

describe('scripts/bump-version.mjs', () => {
  for (const [part, expected] of [['patch', '1.4.3'], ['minor', '1.5.0'], ['major', '2.0.0']] as const) {
    it(`bumps the extension, every task and the CLI package together (${part}, from 1.4.2)`, async () => {
      const project = projectAtVersion('1.4.2');
      const result = await node('bump-version.mjs', [part, '--project', project]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(readJson<{ version: string }>(join(project, 'vss-extension.json')).version, expected);
      for (const task of taskNames) {
        const { Major, Minor, Patch } = readJson<TaskJson>(join(project, 'tasks', task, 'task.json')).version;
        assert.equal(`${Major}.${Minor}.${Patch}`, expected, task);
      }
      const lock = readJson<{ version: string; packages: Record<string, { version: string }> }>(join(project, 'package-lock.json'));
      assert.equal(readJson<{ version: string }>(join(project, 'package.json')).version, expected);
      assert.deepEqual([lock.version, lock.packages[''].version], [expected, expected]);
      assert.match(readFileSync(join(project, 'action.yml'), 'utf8'), new RegExp(`  cli-version:\\n(    .*\\n)*?    default: '${expected.replace(/\./g, '\\.')}'`));
    });
  }

  it('refuses an unknown part and changes nothing', async () => {
    const project = projectCopy();
    const result = await node('bump-version.mjs', ['huge', '--project', project]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /use patch, minor or major/);
    assert.equal(readJson<{ version: string }>(join(project, 'vss-extension.json')).version, extensionManifest().version);
  });

  it('the CLI package and the GitHub Action\'s default CLI have the extension\'s version', () => {
    assert.match(readFileSync(join(repoRoot, 'action.yml'), 'utf8'), new RegExp(`  cli-version:\\n(    .*\\n)*?    default: '${extensionManifest().version.replace(/\./g, '\\.')}'`));
    assert.equal(readJson<{ version: string }>(join(repoRoot, 'package.json')).version, extensionManifest().version);
    assert.equal(readJson<{ version: string }>(join(repoRoot, 'package-lock.json')).version, extensionManifest().version);
  });
});
