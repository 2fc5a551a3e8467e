// Entry of the bundled CLI (dist/cli.js), also loaded by bin/bedrock-gitops.js.
import { main } from './main';

main(process.argv.slice(2), process.env).then(
  (code) => { process.exitCode = code; },
  // main reports every failure itself; this is the last resort for a bug in that reporting.
  (error: unknown) => { process.stderr.write(`error: ${String(error)}\n`); process.exitCode = 1; },
);
