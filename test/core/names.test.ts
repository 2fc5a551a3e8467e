import { strict as assert } from 'node:assert';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { GitopsError } from '../../tasks/core/errors';
import { assertBranchName, assertNotOption, assertPlainName, assertRefName, assertRelativePath, assertSeparateOutput } from '../../tasks/core/names';
import { tempDir } from '../support/tmp';

describe('names: the shared validators of names, refs and paths', () => {
  describe('assertSeparateOutput', () => {
    const layout = () => {
      const root = tempDir('names-out-');
      const hld = join(root, 'hld');
      const work = join(root, 'work');
      mkdirSync(join(hld, 'config'), { recursive: true });
      mkdirSync(work);
      return { root, hld, work, others: [{ path: hld, what: 'HLD checkout', mayContain: true }, { path: work, what: 'folder of the clones' }] };
    };

    it('accepts a folder of its own, and one inside the HLD (Fabrikate\'s generated/)', () => {
      const { root, hld, others } = layout();
      assertSeparateOutput(join(root, 'out'), 'outputPath', others);
      assertSeparateOutput(join(hld, 'generated'), 'outputPath', others);
    });

    it('refuses the HLD itself, a folder above it, and anything inside the clones, naming the input', () => {
      const { root, hld, work, others } = layout();
      for (const output of [hld, root, join(work, 'manifests'), work]) {
        assert.throws(() => assertSeparateOutput(output, 'outputPath', others), (error: unknown) =>
          error instanceof GitopsError && error.field === 'outputPath' && /overlaps/.test(error.message));
      }
    });

    it('sees through a symbolic link to the HLD', () => {
      const { root, hld, others } = layout();
      symlinkSync(hld, join(root, 'link'));
      assert.throws(() => assertSeparateOutput(join(root, 'link'), 'outputPath', others), /overlaps the HLD checkout/);
    });

    it('refuses an output inside the HLD by path that goes through a symlink (out of the HLD or into its own folders)', () => {
      const { root, hld, others } = layout();
      mkdirSync(join(root, 'victim'));
      symlinkSync(join(root, 'victim'), join(hld, 'generated'));
      symlinkSync('config', join(hld, 'out'));
      for (const output of [join(hld, 'generated'), join(hld, 'out', 'x')]) {
        assert.throws(() => assertSeparateOutput(output, 'outputPath', others), (error: unknown) =>
          error instanceof GitopsError && error.field === 'outputPath' && /goes through the symlink "(generated|out)" in the HLD checkout/.test(error.message), output);
      }
    });

    it('refuses a folder inside any .git, in any case', () => {
      const { root, others } = layout();
      for (const output of [join(root, 'x', '.git', 'objects'), join(root, '.GIT'), join(root, 'git~1', 'x')]) {
        assert.throws(() => assertSeparateOutput(output, 'outputPath', others), /inside a \.git folder/);
      }
    });
  });

  it('assertRelativePath refuses .git segments in any case and Windows spelling, naming the field', () => {
    for (const path of ['.git', 'a/.GIT', '.git./x', '.git /x', 'GIT~1', 'envs/.Git/hooks']) {
      assert.throws(() => assertRelativePath(path, 'manifestPath', { field: 'manifestPath' }), (error: unknown) =>
        error instanceof GitopsError && error.field === 'manifestPath' && /\.git/.test(error.message), path);
    }
    assert.equal(assertRelativePath('./envs/.github/x.git/', 'manifestPath'), 'envs/.github/x.git');
  });

  it('assertPlainName refuses __proto__, constructor and prototype', () => {
    for (const name of ['__proto__', 'constructor', 'prototype']) assert.throws(() => assertPlainName(name, 'subcomponent'), /reserved name/);
    assert.equal(assertPlainName('_proto', 'subcomponent'), '_proto');
  });

  it('assertRefName strips refs/heads/ or refs/tags/ and applies the rules to what is left', () => {
    assert.equal(assertBranchName('refs/heads/release/1.2', 'hldBranch'), 'release/1.2');
    assert.equal(assertRefName('refs/tags/flux-sync', 'verifySyncTag', 'tag'), 'flux-sync');
    assert.equal(assertBranchName('0123456789abcdef0123456789abcdef01234567', 'hldBranch'), '0123456789abcdef0123456789abcdef01234567');
    for (const bad of ['refs/heads/-x', '-x', '--upload-pack=x', 'a..b', 'a//b', 'a/', 'a.', '.a', 'a/.b', 'x.lock', 'x.lock/y', 'a@{1}', '@', 'HEAD', 'a b', 'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[', 'a\\b', 'a\u0001', '']) {
      assert.throws(() => assertBranchName(bad, 'manifestBranch'), /manifestBranch .* is not a valid branch name/, JSON.stringify(bad));
    }
  });

  it('assertNotOption refuses a leading "-", also after spaces', () => {
    assert.throws(() => assertNotOption(' -oProxyCommand=x', 'manifestRepositoryUrl', { field: 'manifestRepositoryUrl' }), /must not start with "-"/);
    assert.equal(assertNotOption('https://x/-y', 'manifestRepositoryUrl'), 'https://x/-y');
  });
});
