import { strict as assert } from 'node:assert';
import { classifyPushFailure } from '../../../tasks/core/git/retry';

// stderr as git 2.39 and Azure Repos print it.
const cases: [string, string, ReturnType<typeof classifyPushFailure>][] = [
  ['fetch first', ' ! [rejected]        main -> main (fetch first)\nerror: failed to push some refs to \'https://x/_git/hld\'', 'stale'],
  ['non-fast-forward', ' ! [rejected]        main -> main (non-fast-forward)', 'stale'],
  ['lost the ref lock', " ! [remote rejected] main -> main (cannot lock ref 'refs/heads/main': is at 1a2b but expected 3c4d)", 'stale'],
  ['ref moved during update', ' ! [remote rejected] main -> main (failed to update ref)', 'stale'],
  ['Azure Repos stale', ' ! [remote rejected] main -> main (TF401028: The reference \'refs/heads/main\' has already been updated by another client. StaleOldObjectId)', 'stale'],
  ['old value mismatch', "error: cannot update ref 'refs/heads/main': incorrect old value provided", 'stale'],
  ['pre-receive hook', 'remote: no\n ! [remote rejected] main -> main (pre-receive hook declined)', 'rejected'],
  ['Azure branch policy', ' ! [remote rejected] main -> main (TF402455: Pushes to this branch are not permitted; you must use a pull request to update this branch.)', 'rejected'],
  ['401 without prompt', "fatal: could not read Username for 'https://dev.azure.com': terminal prompts disabled", 'auth'],
  ['403', "fatal: unable to access 'https://dev.azure.com/o/p/_git/hld/': The requested URL returned error: 403", 'auth'],
  ['missing Contribute permission', ' ! [remote rejected] main -> main (TF401027: You need the Git \'GenericContribute\' permission to perform this action.)', 'auth'],
  ['connection refused', "fatal: unable to access 'http://127.0.0.1:1/r/': Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server", 'network'],
  ['connection dropped', 'error: RPC failed; curl 52 Empty reply from server\nfatal: the remote end hung up unexpectedly', 'network'],
  ['something else', 'fatal: bad object HEAD', 'unknown'],
];

describe('classifyPushFailure', () => {
  for (const [name, stderr, expected] of cases) {
    it(`${name} → ${expected}`, () => assert.equal(classifyPushFailure(stderr), expected));
  }
});
