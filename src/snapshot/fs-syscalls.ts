/**
 * The file-system calls Node lacks — mknod(2) and the xattr family — in one place, so that the
 * typed FFI layer DESIGN.md plans can replace them without touching callers. Until then they go
 * through Debian tools: coreutils `mknod`, and Python's os.setxattr/os.listxattr (Debian's
 * `attr` package with setfattr/getfattr is not installed on our hosts; python3 is). Xattr calls
 * are batched into one process per call site because a layer can carry thousands.
 */

import { spawn } from 'node:child_process';
import { EngineError, SyscallError } from '../util/errors.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(new EngineError('unavailable', `run ${command}: ${err.message}`, { cause: err })));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

export type NodeKind = 'char' | 'block' | 'fifo';

/** mknod(2): a device node or fifo; the mode is applied by the caller (mknod -m goes through the umask). */
export async function mknod(path: string, kind: NodeKind, major = 0, minor = 0): Promise<void> {
  const args = kind === 'fifo' ? ['--', path, 'p'] : ['--', path, kind === 'char' ? 'c' : 'b', String(major), String(minor)];
  const result = await run('mknod', args);
  if (result.code !== 0) throw new SyscallError('mknod', 0, `${path}: ${result.stderr.trim()}`);
}

const XATTR_SCRIPT = `
import os, sys, json
ops = json.load(sys.stdin)
out = []
for op in ops:
    p = op["path"]
    try:
        if op["op"] == "set":
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
            print(json.dumps({"errno": e.errno, "path": p, "name": op.get("name", "")}))
            sys.exit(3)
print(json.dumps(out))
`;

type XattrOp = { op: 'set'; path: string; name: string; value: string } | { op: 'list'; path: string };

async function xattrBatch(ops: XattrOp[]): Promise<unknown[]> {
  if (ops.length === 0) return [];
  const result = await run('python3', ['-c', XATTR_SCRIPT], JSON.stringify(ops));
  if (result.code === 3) {
    const failure = JSON.parse(result.stdout) as { errno: number; path: string; name: string };
    const syscall = ops[0]?.op === 'set' ? 'lsetxattr' : 'llistxattr';
    throw new SyscallError(syscall, failure.errno, `${failure.name} on ${failure.path}`);
  }
  if (result.code !== 0) throw new EngineError('internal', `run xattr helper: ${result.stderr.trim() || `exit ${result.code}`}`);
  return JSON.parse(result.stdout) as unknown[];
}

export interface XattrSet {
  path: string;
  name: string;
  value: Buffer;
}

/** lsetxattr(2) for each item, in order; stops at the first failure. */
export async function lsetxattrs(items: XattrSet[]): Promise<void> {
  await xattrBatch(items.map((i) => ({ op: 'set', path: i.path, name: i.name, value: i.value.toString('hex') })));
}

/** Every extended attribute of each path (symlinks not followed); file systems without xattrs give none. */
export async function lgetxattrs(paths: string[]): Promise<Map<string, Buffer>[]> {
  const raw = (await xattrBatch(paths.map((path) => ({ op: 'list', path })))) as Record<string, string>[];
  return raw.map((entry) => new Map(Object.entries(entry).map(([k, v]) => [k, Buffer.from(v, 'hex')])));
}
