#!/usr/bin/env node
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const bundle = join(__dirname, '..', 'dist', 'cli.js');
if (!existsSync(bundle)) {
  process.stderr.write('bedrock-gitops: dist/cli.js is missing; run `npm run bundle` in the package folder first\n');
  process.exit(1);
}
require(bundle);
