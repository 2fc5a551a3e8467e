#!/usr/bin/env node
// Starts the bundled CLI (dist/cli.js). Compiling its 1.3 MB took about a third of a short run
// (`generate` with every render cached), so the compiled code is kept in a V8 code cache in the
// user's cache folder ($BEDROCK_GITOPS_CACHE/v8, default ~/.cache/bedrock-gitops/v8), one file per
// command, bundle and Node version; V8 rejects a cache that does not match the source and the
// bundle is then compiled as usual. BEDROCK_GITOPS_NO_CODE_CACHE=1 turns it off.
const { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { homedir } = require('node:os');
const { dirname, join } = require('node:path');

// The bundle sets this V8 flag when its network module loads (tasks/core/network.ts). V8 ties a code
// cache to the flags in force, so it is set here first: the cache is made and used under the same flags.
require('node:v8').setFlagsFromString('--liftoff-only');

const bundle = join(__dirname, '..', 'dist', 'cli.js');
if (!existsSync(bundle)) {
  process.stderr.write('bedrock-gitops: dist/cli.js is missing; run `npm run bundle` in the package folder first\n');
  process.exit(1);
}

function cacheFolder() {
  const env = process.env;
  return join(env.BEDROCK_GITOPS_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'bedrock-gitops'), 'v8');
}

function ownedPrivately(path) {
  const info = statSync(path);
  const uid = typeof process.getuid === 'function' ? process.getuid() : info.uid;
  return info.uid === uid && (info.mode & 0o022) === 0;
}

/** Runs the bundle as `require` would, from a code cache when one matches. False: not possible here. */
function runWithCodeCache() {
  const Module = require('node:module');
  const vm = require('node:vm');
  if (typeof Module.wrap !== 'function' || typeof vm.Script !== 'function') return false;
  const source = readFileSync(bundle, 'utf8');
  const { size, mtimeMs } = statSync(bundle);
  const command = /^[a-z][a-z-]{0,30}$/.test(process.argv[2] ?? '') ? process.argv[2] : 'other';
  const id = createHash('sha256').update(JSON.stringify([bundle, size, mtimeMs, process.version, process.arch, process.execArgv])).digest('hex').slice(0, 32);
  const folder = cacheFolder();
  const file = join(folder, `${command}-${id}.bin`);
  let cachedData;
  try {
    // Compiled code is trusted as code: only from a file and folder that no one else may write.
    if (ownedPrivately(folder) && ownedPrivately(file)) cachedData = readFileSync(file);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData });
  if (!cachedData || script.cachedDataRejected) {
    // Written when the process ends, so the functions this command compiled are in it too.
    process.once('exit', () => {
      try {
        mkdirSync(folder, { recursive: true, mode: 0o700 });
        const temp = `${file}.${process.pid}.tmp`;
        writeFileSync(temp, script.createCachedData(), { mode: 0o600 });
        renameSync(temp, file);
      } catch {
        // No writable cache folder: the next run compiles again.
      }
    });
  }
  const moduleRecord = new Module(bundle, module);
  moduleRecord.filename = bundle;
  moduleRecord.paths = Module._nodeModulePaths(dirname(bundle));
  const wrapper = script.runInThisContext({ displayErrors: true });
  wrapper.call(moduleRecord.exports, moduleRecord.exports, Module.createRequire(bundle), moduleRecord, bundle, dirname(bundle));
  return true;
}

if (process.env.BEDROCK_GITOPS_NO_CODE_CACHE || !runWithCodeCache()) require(bundle);
