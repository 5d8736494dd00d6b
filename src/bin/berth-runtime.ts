/**
 * Entry point of berth-runtime: the only place that reads argv and sets the exit code.
 */

import { main } from '../cli/runtime/main.ts';

void main(process.argv.slice(2)).then((code) => {
  // Exit explicitly: a relayed terminal or a detached monitor must not keep this process alive.
  process.exitCode = code;
  setImmediate(() => process.exit(code));
});
