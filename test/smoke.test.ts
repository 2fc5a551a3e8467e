import { strict as assert } from 'node:assert';
import { helmBinaries } from './support/tools';
import { runProcess } from '../tasks/core/exec';

describe('test environment', () => {
  for (const helm of helmBinaries) {
    it(`helm ${helm.major} runs`, async () => {
      const result = await runProcess(helm.path, ['version', '--short']);
      assert.equal(result.code, 0);
      assert.match(result.stdout, new RegExp(`^v${helm.major}\\.`));
    });
  }
});
