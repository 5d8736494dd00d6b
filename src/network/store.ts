/**
 * Network records on disk: one JSON record and the CNI config list Berth generated from it, per
 * network, under <state>/networks. Both are written atomically, the conflist last, so a record
 * without a conflist is an interrupted create (rewritten on load).
 */

import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite } from '../util/atomic-write.ts';
import { errorCode } from '../util/errors.ts';
import type { NetConfList } from './cni/types.ts';

export interface NetworkRecord {
  readonly name: string;
  readonly id: string;
  readonly created: string;
  readonly cniName: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly internal: boolean;
  readonly mtu?: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly options: Readonly<Record<string, string>>;
}

export class NetworkStore {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  conflistPath(name: string): string {
    return join(this.dir, `${name}.conflist`);
  }

  async save(record: NetworkRecord, conflist: NetConfList): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await atomicWrite(join(this.dir, `${record.name}.json`), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    await atomicWrite(this.conflistPath(record.name), `${JSON.stringify(conflist, null, 2)}\n`, { mode: 0o644 });
  }

  async load(): Promise<NetworkRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return [];
      throw err;
    }
    const records: NetworkRecord[] = [];
    for (const name of names.sort()) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      records.push(JSON.parse(await readFile(join(this.dir, name), 'utf8')) as NetworkRecord);
    }
    return records;
  }

  async remove(name: string): Promise<void> {
    // Conflist first: without it the network cannot be attached to any more.
    await rm(this.conflistPath(name), { force: true });
    await rm(join(this.dir, `${name}.json`), { force: true });
  }
}
