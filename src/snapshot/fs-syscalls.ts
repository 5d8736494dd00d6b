/**
 * The file-system calls Node lacks — mknod(2) and the xattr family — in one place, so that the
 * typed FFI layer DESIGN.md plans can replace them without touching callers. Until then they run
 * in Debian's python3 (os.mknod, os.setxattr, os.listxattr: thin wrappers over the syscalls;
 * Debian's `attr` package with setfattr/getfattr is not installed on our hosts, python3 is).
 * Calls are batched, one process per batch, because a layer can carry thousands of whiteouts;
 * a few nodes alone are made with coreutils' mknod(1), which starts in a fraction of the time.
 * Every call acts on the path itself, never through a final symlink (l* semantics).
 */

import { execFile, spawn } from 'node:child_process';
import { EngineError, SyscallError } from '../util/errors.ts';

const HELPER = `
import os, stat, sys, json
ops = json.load(sys.stdin)
out = []
for op in ops:
    p = op["path"]
    try:
        kind = op["op"]
        if kind == "mknod":
            fmt = {"char": stat.S_IFCHR, "block": stat.S_IFBLK, "fifo": stat.S_IFIFO}[op["kind"]]
            os.mknod(p, fmt | 0o600, os.makedev(op["major"], op["minor"]))
            out.append(None)
        elif kind == "set":
            os.setxattr(p, op["name"], bytes.fromhex(op["value"]), follow_symlinks=False)
            out.append(None)
        else:
            d = {}
            for n in os.listxattr(p, follow_symlinks=False):
                d[n] = os.getxattr(p, n, follow_symlinks=False).hex()
            out.append(d)
    except OSError as e:
        if op["op"] == "list" and e.errno in (95, 61):
            out.append({})
        else:
            print(json.dumps({"errno": e.errno, "op": op["op"], "path": p, "name": op.get("name", "")}))
            sys.exit(3)
print(json.dumps(out))
`;

type Op =
  | { op: 'mknod'; path: string; kind: NodeKind; major: number; minor: number }
  | { op: 'set'; path: string; name: string; value: string }
  | { op: 'list'; path: string };

const SYSCALL_NAMES: Record<Op['op'], string> = { mknod: 'mknod', set: 'lsetxattr', list: 'llistxattr' };

function runHelper(ops: Op[]): Promise<unknown[]> {
  if (ops.length === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', HELPER], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(new EngineError('unavailable', `run python3 for file-system calls: ${err.message}`, { cause: err })));
    child.on('close', (code) => {
      if (code === 3) {
        const failure = JSON.parse(stdout) as { errno: number; op: Op['op']; path: string; name: string };
        reject(new SyscallError(SYSCALL_NAMES[failure.op], failure.errno, failure.name ? `${failure.name} on ${failure.path}` : failure.path));
      } else if (code !== 0) reject(new EngineError('internal', `run python3 for file-system calls: ${stderr.trim() || `exit ${code}`}`));
      else resolve(JSON.parse(stdout) as unknown[]);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(ops));
  });
}

export type NodeKind = 'char' | 'block' | 'fifo';

export interface NodeSpec {
  path: string;
  kind: NodeKind;
  major?: number;
  minor?: number;
}

function nodeOp(n: NodeSpec): Op {
  return { op: 'mknod', path: n.path, kind: n.kind, major: n.major ?? 0, minor: n.minor ?? 0 };
}

/**
 * Up to this many nodes (and no xattrs) are made with coreutils' mknod(1), one process each,
 * all at once: a few ms in all, where python3 takes 30 ms to start on a quiet machine and
 * 130–290 ms on a loaded one (issue 3: a layer's handful of whiteouts cost more than its files).
 */
const MKNOD_BINARY_MAX = 32;

/** strerror(3) texts as mknod(1) prints them → errno, for the failures a layer can meet. */
const STRERROR: Record<string, number> = {
  'Operation not permitted': 1, 'No such file or directory': 2, 'Permission denied': 13, 'File exists': 17,
  'Not a directory': 20, 'Invalid argument': 22, 'No space left on device': 28, 'Read-only file system': 30,
  'File name too long': 36, 'Disk quota exceeded': 122,
};

function mknodBinary(node: NodeSpec): Promise<SyscallError | undefined> {
  const args = ['-m', '600', '--', node.path, ...(node.kind === 'fifo' ? ['p'] : [node.kind === 'char' ? 'c' : 'b', String(node.major ?? 0), String(node.minor ?? 0)])];
  return new Promise((resolve, reject) => {
    execFile('mknod', args, (err, _stdout, stderr) => {
      if (!err) return resolve(undefined);
      // a string code is a failure to run mknod at all (ENOENT…); a number, its exit status
      if (typeof (err as { code?: unknown }).code === 'string') {
        return reject(new EngineError('unavailable', `run mknod for file-system calls: ${err.message}`, { cause: err }));
      }
      const text = stderr.trim().slice(stderr.trim().lastIndexOf(': ') + 2);
      resolve(new SyscallError('mknod', STRERROR[text] ?? 0, STRERROR[text] === undefined ? `${node.path} (${stderr.trim()})` : node.path));
    });
  });
}

/** mknod(2) for each node, mode 0600 (callers chmod); fails with the first failure in order. */
export async function mknods(nodes: NodeSpec[]): Promise<void> {
  if (nodes.length > MKNOD_BINARY_MAX) return void (await runHelper(nodes.map(nodeOp)));
  const failures = await Promise.all(nodes.map(mknodBinary));
  const first = failures.find((f) => f !== undefined);
  if (first) throw first;
}

export async function mknod(path: string, kind: NodeKind, major = 0, minor = 0): Promise<void> {
  await mknods([{ path, kind, major, minor }]);
}

export interface XattrSet {
  path: string;
  name: string;
  value: Buffer;
}

function setOps(items: XattrSet[]): Op[] {
  return items.map((i) => ({ op: 'set', path: i.path, name: i.name, value: i.value.toString('hex') }));
}

/** lsetxattr(2) for each item, in order; stops at the first failure. */
export async function lsetxattrs(items: XattrSet[]): Promise<void> {
  await runHelper(setOps(items));
}

/**
 * The nodes, then the xattrs, in one helper process: a layer's whiteouts and xattrs cost one
 * python3 start-up (~30 ms) instead of two.
 */
export async function mknodsThenLsetxattrs(nodes: NodeSpec[], items: XattrSet[]): Promise<void> {
  if (items.length === 0) return mknods(nodes);
  await runHelper([...nodes.map(nodeOp), ...setOps(items)]);
}

/** Every extended attribute of each path (symlinks not followed); file systems without xattrs give none. */
export async function lgetxattrs(paths: string[]): Promise<Map<string, Buffer>[]> {
  const raw = (await runHelper(paths.map((path) => ({ op: 'list', path })))) as Record<string, string>[];
  return raw.map((entry) => new Map(Object.entries(entry).map(([k, v]) => [k, Buffer.from(v, 'hex')])));
}
