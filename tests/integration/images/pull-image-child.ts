/**
 * Pulls one image through the image store (download and unpack streamed together) from a child
 * process, so a test can kill -9 it in the middle. Usage:
 *   node --import tsx pull-image-child.ts <data-root> <reference>
 * Prints one JSON line per progress event.
 */

import { ImageStore } from '../../../src/image/store/index.ts';
import { StaticCredentials } from '../../../src/image/registry/index.ts';

const [root, ref] = process.argv.slice(2);
if (!root || !ref) {
  process.stderr.write('usage: pull-image-child.ts <data-root> <reference>\n');
  process.exit(2);
}
const store = await ImageStore.open({ root, credentials: new StaticCredentials() });
const result = await store.pull(ref, { onProgress: (e) => process.stdout.write(`${JSON.stringify(e)}\n`) });
process.stdout.write(`${JSON.stringify({ done: result.digest })}\n`);
