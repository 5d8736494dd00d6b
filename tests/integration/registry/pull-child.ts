/**
 * Pulls one image into a content store from a child process, so a test can kill -9 it in the
 * middle of a transfer. Usage: node --import tsx pull-child.ts <store-root> <reference>
 * Prints one JSON line per progress event so the parent can see how far it got.
 */

import { LocalContentStore } from '../../../src/content/index.ts';
import { RegistryClient, StaticCredentials } from '../../../src/image/registry/index.ts';

const [root, ref] = process.argv.slice(2);
if (!root || !ref) {
  process.stderr.write('usage: pull-child.ts <store-root> <reference>\n');
  process.exit(2);
}
const client = new RegistryClient(new LocalContentStore(root), { credentials: new StaticCredentials() });
const result = await client.pull(ref, { onProgress: (e) => process.stdout.write(`${JSON.stringify(e)}\n`) });
process.stdout.write(`${JSON.stringify({ done: result.digest })}\n`);
