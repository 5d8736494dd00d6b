/**
 * Entry point of berth-runtime: the only place that reads argv and sets the exit code.
 */

import { main } from '../cli/runtime/main.ts';

const code = await main(process.argv.slice(2));
// Let stdout drain; a detached monitor or a relayed terminal must not keep us alive.
process.exitCode = code;
setImmediate(() => process.exit(code));
