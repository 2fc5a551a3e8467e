// Entry of the bundled CLI (dist/cli.js), also loaded by bin/bedrock-gitops.js.
import { main } from './main';

main(process.argv.slice(2), process.env).then((code) => {
  process.exitCode = code;
});
