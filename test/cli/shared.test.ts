import { strict as assert } from 'node:assert';
import { parseArgs } from 'node:util';
import { UsageError, type CliCommand } from '../../cli/commands/command';
import { promoteCommand } from '../../cli/commands/promote';
import { publishCommand } from '../../cli/commands/publish';
import {
  authorFrom, gitCredentialFromEnv, gitWriteOptions, provenanceFromEnv, pushOptionsFrom,
} from '../../cli/commands/shared';
import { updateImageTagCommand } from '../../cli/commands/update-image-tag';
import { silentLogger } from '../../tasks/core/logger';
import { tempDir } from '../support/tmp';
import { componentYaml, createFileRepo, messageOf } from '../tasks/updateImageTagHelpers';

/** Parses flags with exactly the shared specs, as each command does. */
function shared(args: string[]) {
  return parseArgs({ args, options: gitWriteOptions }).values;
}

const jenkinsEnv = {
  JENKINS_URL: 'https://jenkins.fabrikam.example/',
  BUILD_URL: 'https://jenkins.fabrikam.example/job/api/42/',
  BUILD_NUMBER: '42',
  BUILD_ID: '42',
  GIT_COMMIT: '0123456789abcdef0123456789abcdef01234567',
  GIT_URL: 'https://git.fabrikam.example/fabrikam/api.git',
};

const githubEnv = {
  CI: 'true',
  GITHUB_ACTIONS: 'true',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'fabrikam/api',
  GITHUB_RUN_ID: '9876543210',
  GITHUB_RUN_NUMBER: '17',
  GITHUB_SHA: 'fedcba9876543210fedcba9876543210fedcba98',
  GITHUB_REF: 'refs/heads/main',
  GITHUB_ACTOR: 'octocat',
  GITHUB_ACTOR_ID: '583231',
};

describe('CLI shared git options', () => {
  describe('pushOptionsFrom', () => {
    it('defaults to a direct push with 10 attempts and no pull request options', () => {
      assert.deepEqual(pushOptionsFrom(shared([])), { mode: 'direct', maxAttempts: 10, pullRequest: undefined });
    });

    it('maps every pull request flag like the tasks map their inputs', () => {
      const push = pushOptionsFrom(shared([
        '--push-mode', 'pullRequest', '--pr-target-branch', 'release', '--pr-title', 'Bump api',
        '--auto-complete', '--merge-strategy', 'rebase', '--keep-source-branch',
        '--reviewer', 'alice', '--reviewer', 'bob,carol', '--work-item', '12', '--work-item', '34',
        '--pr-api-url', 'https://ado.fabrikam.example/tfs/DefaultCollection', '--max-push-attempts', '3',
      ]));
      assert.deepEqual(push, {
        mode: 'pullRequest',
        maxAttempts: 3,
        pullRequest: {
          targetBranch: 'release',
          title: 'Bump api',
          autoComplete: true,
          mergeStrategy: 'rebase',
          deleteSourceBranch: false,
          reviewers: ['alice', 'bob', 'carol'],
          workItemIds: ['12', '34'],
          apiUrl: 'https://ado.fabrikam.example/tfs/DefaultCollection',
        },
      });
    });

    it('defaults a pull request to squash and deleting its source branch', () => {
      const pullRequest = pushOptionsFrom(shared(['--push-mode', 'pullRequest'])).pullRequest;
      assert.equal(pullRequest?.mergeStrategy, 'squash');
      assert.equal(pullRequest?.deleteSourceBranch, true);
      assert.equal(pullRequest?.autoComplete, false);
    });

    for (const [args, flag] of [
      [['--push-mode', 'pullrequest'], '--push-mode'],
      [['--merge-strategy', 'fastForward'], '--merge-strategy'],
      [['--max-push-attempts', '0'], '--max-push-attempts'],
      [['--max-push-attempts', '51'], '--max-push-attempts'],
      [['--max-push-attempts', '2.5'], '--max-push-attempts'],
      [['--max-push-attempts', 'ten'], '--max-push-attempts'],
    ] as const) {
      it(`rejects ${args.join(' ')} with a usage error naming ${flag}`, () => {
        assert.throws(() => pushOptionsFrom(shared([...args])), (error: unknown) => error instanceof UsageError && error.message.startsWith(flag));
      });
    }

    it('accepts the bounds 1 and 50 of --max-push-attempts', () => {
      assert.equal(pushOptionsFrom(shared(['--max-push-attempts', '1'])).maxAttempts, 1);
      assert.equal(pushOptionsFrom(shared(['--max-push-attempts', '50'])).maxAttempts, 50);
    });
  });

  describe('provenanceFromEnv', () => {
    it('reads a Jenkins build from its own variables', () => {
      assert.deepEqual(provenanceFromEnv(jenkinsEnv), {
        system: 'Jenkins',
        buildUrl: 'https://jenkins.fabrikam.example/job/api/42/',
        buildId: '42',
        buildNumber: '42',
        sourceCommit: '0123456789abcdef0123456789abcdef01234567',
        sourceRepository: 'https://git.fabrikam.example/fabrikam/api.git',
        sourceBranch: undefined,
      });
    });

    it('drops a user:token pair that Jenkins may carry in GIT_URL', () => {
      const provenance = provenanceFromEnv({ ...jenkinsEnv, GIT_URL: 'https://jenkins:s3cret@git.fabrikam.example/fabrikam/api.git' });
      assert.equal(provenance.sourceRepository, 'https://git.fabrikam.example/fabrikam/api.git');
    });

    it('reads a GitHub Actions run: run URL, run id and number, commit and actor', () => {
      assert.deepEqual(provenanceFromEnv(githubEnv), {
        system: 'GitHub Actions',
        buildUrl: 'https://github.com/fabrikam/api/actions/runs/9876543210',
        buildId: '9876543210',
        buildNumber: '17',
        sourceCommit: 'fedcba9876543210fedcba9876543210fedcba98',
        sourceRepository: 'https://github.com/fabrikam/api',
        sourceBranch: 'refs/heads/main',
        requestedFor: 'octocat',
        requestedForEmail: '583231+octocat@users.noreply.github.com',
      });
    });

    it('lets the explicit GITOPS_* variables win over the CI system', () => {
      const provenance = provenanceFromEnv({
        ...githubEnv,
        GITOPS_BUILD_URL: 'https://ci.fabrikam.example/runs/7',
        GITOPS_BUILD_ID: '7',
        GITOPS_SOURCE_COMMIT: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
        GITOPS_SOURCE_REPOSITORY: 'https://git.fabrikam.example/fabrikam/api.git',
      });
      assert.equal(provenance.system, 'GitHub Actions');
      assert.equal(provenance.buildUrl, 'https://ci.fabrikam.example/runs/7');
      assert.equal(provenance.buildId, '7');
      assert.equal(provenance.sourceCommit, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
      assert.equal(provenance.sourceRepository, 'https://git.fabrikam.example/fabrikam/api.git');
      assert.equal(provenance.buildNumber, '17');
    });

    it('takes the explicit variables alone on another CI system, and reports it as CI', () => {
      assert.deepEqual(provenanceFromEnv({ CI: 'true', GITOPS_BUILD_URL: 'https://ci.fabrikam.example/runs/7' }), {
        system: 'CI',
        buildUrl: 'https://ci.fabrikam.example/runs/7',
        buildId: undefined,
        sourceCommit: undefined,
        sourceRepository: undefined,
      });
    });

    it('reports a run outside CI as local, ignoring empty variables', () => {
      const provenance = provenanceFromEnv({ CI: 'false', GITOPS_BUILD_URL: '', JENKINS_URL: '' });
      assert.equal(provenance.system, 'local');
      assert.equal(provenance.buildUrl, undefined);
    });
  });

  describe('authorFrom', () => {
    it('uses the flags first, then the GitHub actor, then bedrock-gitops', () => {
      const github = provenanceFromEnv(githubEnv);
      assert.deepEqual(authorFrom(shared(['--author-name', 'Release Bot']), github), { name: 'Release Bot', email: '583231+octocat@users.noreply.github.com' });
      assert.deepEqual(authorFrom(shared([]), github), { name: 'octocat', email: '583231+octocat@users.noreply.github.com' });
      assert.deepEqual(authorFrom(shared([]), provenanceFromEnv(jenkinsEnv)), { name: 'bedrock-gitops', email: 'bedrock-gitops@noreply.invalid' });
    });

    it('does not pair a requester name with the default email', () => {
      const enterprise = provenanceFromEnv({ ...githubEnv, GITHUB_SERVER_URL: 'https://github.fabrikam.example' });
      assert.deepEqual(authorFrom(shared([]), enterprise), { name: 'bedrock-gitops', email: 'bedrock-gitops@noreply.invalid' });
    });
  });

  describe('gitCredentialFromEnv', () => {
    it('sends GITOPS_GIT_TOKEN as a bearer token', () => {
      assert.deepEqual(gitCredentialFromEnv({ GITOPS_GIT_TOKEN: 'tok' }), { kind: 'bearer', token: 'tok' });
    });

    it('sends it as Basic auth when GITOPS_GIT_USERNAME is set', () => {
      assert.deepEqual(gitCredentialFromEnv({ GITOPS_GIT_TOKEN: 'pat', GITOPS_GIT_USERNAME: 'jenkins' }), { kind: 'basic', username: 'jenkins', password: 'pat' });
    });

    it('falls back to GITOPS_PR_TOKEN, and prefers GITOPS_GIT_TOKEN when both are set', () => {
      assert.deepEqual(gitCredentialFromEnv({ GITOPS_PR_TOKEN: 'pr' }), { kind: 'bearer', token: 'pr' });
      assert.deepEqual(gitCredentialFromEnv({ GITOPS_PR_TOKEN: 'pr', GITOPS_GIT_TOKEN: 'git' }), { kind: 'bearer', token: 'git' });
    });

    it('returns no credential without a token', () => {
      assert.equal(gitCredentialFromEnv({ GITOPS_GIT_USERNAME: 'jenkins' }), undefined);
    });
  });

  describe('the three job commands', () => {
    const commands: [CliCommand, string[]][] = [
      [publishCommand, ['--manifest-repo', 'file:///nowhere/manifests.git']],
      [updateImageTagCommand, ['--tag', '1', '--subcomponent', 'api', '--hld', '.']],
      [promoteCommand, ['--source', 'localhost:1/api:1', '--target-registry', 'localhost:2', '--no-verify', '--hld', '.']],
    ];

    for (const [command, required] of commands) {
      it(`${command.name} documents every shared flag once`, () => {
        for (const flag of Object.keys(gitWriteOptions)) {
          assert.equal(command.help.match(new RegExp(`^\\s+--${flag}\\b`, 'gm'))?.length, 1, `${command.name} --${flag}`);
        }
      });

      it(`${command.name} rejects a bad --push-mode before touching anything`, async () => {
        const lines: string[] = [];
        await assert.rejects(
          command.run({ args: [...required, '--push-mode', 'sideways'], env: {}, cwd: tempDir('bg-shared-'), logger: silentLogger, print: (line) => lines.push(line) }),
          (error: unknown) => error instanceof UsageError && /^--push-mode/.test(error.message),
        );
        assert.deepEqual(lines, []);
      });
    }

    it('update-image-tag records the Jenkins build as commit trailers without extra variables', async function () {
      this.timeout(30_000);
      const hld = await createFileRepo({ 'component.yaml': componentYaml, 'config/prod.yaml': 'subcomponents:\n  api:\n    config:\n      image:\n        tag: old\n' });
      await updateImageTagCommand.run({
        args: ['--hld-repo', hld.url, '--environment', 'prod', '--subcomponent', 'api', '--tag', 'j42'],
        env: { ...jenkinsEnv, PATH: process.env.PATH },
        cwd: tempDir('bg-shared-'),
        logger: silentLogger,
        print: () => undefined,
      });
      const message = await messageOf(hld.bare, 'main');
      assert.match(message, /^Gitops-Pipeline: Jenkins$/m);
      assert.match(message, /^Gitops-Build: https:\/\/jenkins\.fabrikam\.example\/job\/api\/42\/$/m);
      assert.match(message, /^Gitops-Build-Number: 42$/m);
      assert.match(message, /^Gitops-Source-Commit: 0123456789abcdef0123456789abcdef01234567$/m);
      assert.match(message, /^Gitops-Source-Repository: https:\/\/git\.fabrikam\.example\/fabrikam\/api\.git$/m);
    });
  });
});
