/**
 * Mount options of config.json → mount(2) flags, propagation flags and the data string.
 * The kernel takes three different things through the same "options" list: flags for the
 * mount itself, propagation changes (which need a separate mount() call), and filesystem data.
 */

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  I_VERSION: 0x800000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** Flags a remount must carry over, or the kernel refuses it inside a user namespace. */
export const MS_PROPAGATION = MS.SHARED | MS.SLAVE | MS.PRIVATE | MS.UNBINDABLE;

interface FlagEffect {
  set?: number;
  clear?: number;
}

const FLAGS: Record<string, FlagEffect> = {
  ro: { set: MS.RDONLY },
  rw: { clear: MS.RDONLY },
  suid: { clear: MS.NOSUID },
  nosuid: { set: MS.NOSUID },
  dev: { clear: MS.NODEV },
  nodev: { set: MS.NODEV },
  exec: { clear: MS.NOEXEC },
  noexec: { set: MS.NOEXEC },
  sync: { set: MS.SYNCHRONOUS },
  async: { clear: MS.SYNCHRONOUS },
  dirsync: { set: MS.DIRSYNC },
  remount: { set: MS.REMOUNT },
  mand: { set: MS.MANDLOCK },
  nomand: { clear: MS.MANDLOCK },
  atime: { clear: MS.NOATIME },
  noatime: { set: MS.NOATIME },
  diratime: { clear: MS.NODIRATIME },
  nodiratime: { set: MS.NODIRATIME },
  bind: { set: MS.BIND },
  rbind: { set: MS.BIND | MS.REC },
  relatime: { set: MS.RELATIME },
  norelatime: { clear: MS.RELATIME },
  strictatime: { set: MS.STRICTATIME },
  nostrictatime: { clear: MS.STRICTATIME },
  lazytime: { set: MS.LAZYTIME },
  nolazytime: { clear: MS.LAZYTIME },
  silent: { set: MS.SILENT },
  loud: { clear: MS.SILENT },
  iversion: { set: MS.I_VERSION },
  noiversion: { clear: MS.I_VERSION },
  symfollow: { clear: MS.NOSYMFOLLOW },
  nosymfollow: { set: MS.NOSYMFOLLOW },
};

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

export interface ParsedMountOptions {
  flags: number;
  /** Propagation changes, each its own mount() call after the mount exists. */
  propagation: number[];
  data: string;
  /** runc's extension: copy the directory's content up into a fresh tmpfs. */
  tmpcopyup: boolean;
}

export function parseMountOptions(options: readonly string[] = []): ParsedMountOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  let tmpcopyup = false;
  for (const option of options) {
    const effect = FLAGS[option];
    if (effect) {
      flags = (flags | (effect.set ?? 0)) & ~(effect.clear ?? 0);
      continue;
    }
    const prop = PROPAGATION[option];
    if (prop !== undefined) {
      propagation.push(prop);
      continue;
    }
    if (option === 'tmpcopyup') {
      tmpcopyup = true;
      continue;
    }
    data.push(option);
  }
  return { flags, propagation, data: data.join(','), tmpcopyup };
}

/** The propagation flags named by `linux.rootfsPropagation`. */
export function rootfsPropagationFlags(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  return PROPAGATION[value];
}

/** Names of the option words this runtime understands (for `features`). */
export function knownMountOptions(): string[] {
  return [...Object.keys(FLAGS), ...Object.keys(PROPAGATION), 'tmpcopyup'].sort();
}
