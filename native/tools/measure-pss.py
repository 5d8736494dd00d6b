#!/usr/bin/env python3
"""Measures the memory of idle berth-shim monitors (native/README.md, "Memory").

Starts N shims in WAIT mode, each monitoring a `sleep`, waits until they are idle, and
reads Pss/Rss from /proc/<shim>/smaps_rollup. Usage: measure-pss.py SHIM [N [ENV_KB [io]]];
ENV_KB pads the container's environment to model a realistic plan size; `io` gives each
monitor the daemon's stdio set-up (STDIO_PIPES with stdin, LOG_FILE, ATTACH_SOCKET), with
one line logged and one attach client connected before the measurement. Run as root so
the binary can also be measured from a read-only bind mount (the installed layout).
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

MAGIC = b"BRTHPLN1"
CLONE, WAIT, CHILD, READY, EXEC = 8, 14, 15, 47, 50
STDIO_PIPES, LOG_FILE, ATTACH_SOCKET = 56, 57, 58


def s(text):
    return text.encode() + b"\0"


def u64(n):
    return struct.pack("<Q", n)


def encode(plan):
    body = b""
    for op, args in plan:
        body += struct.pack("<II", op, len(args))
        for a in args:
            body += struct.pack("<I", len(a)) + a
    return MAGIC + struct.pack("<II", 16 + len(body), len(plan)) + body


def plan(env_kb, io_dir=None):
    env = [s(f"VAR{i}=" + "x" * 58) for i in range(env_kb * 1024 // 64)]
    io = []
    argv = [u64(2), s("sleep"), s("1000")]
    if io_dir:
        io = [
            (STDIO_PIPES, [u64(1)]),
            (LOG_FILE, [s(f"{io_dir}/log"), u64(10 << 20), u64(3)]),
            (ATTACH_SOCKET, [s(f"{io_dir}/attach.sock")]),
        ]
        argv = [u64(3), s("sh"), s("-c"), s("echo started; exec sleep 1000")]
    return encode(io + [
        (CLONE, [u64(0)]),
        (WAIT, [s(""), u64(1)]),
        (CHILD, []),
        (READY, []),
        (EXEC, [s("/usr/bin:/bin")] + argv + env),
    ])


def rollup(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def main():
    shim = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    env_kb = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    io = len(sys.argv) > 4 and sys.argv[4] == "io"
    tmp = tempfile.mkdtemp(prefix="berth-pss-") if io else None
    procs, socks, clients = [], [], []
    placeholder = os.open("/dev/null", os.O_RDONLY)  # keeps our sockets off fd 3
    if placeholder != 3:
        os.dup2(placeholder, 3)
    try:
        for i in range(n):
            io_dir = None
            if tmp:
                io_dir = f"{tmp}/{i}"
                os.mkdir(io_dir)
            encoded = plan(env_kb, io_dir)
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            os.dup2(theirs.fileno(), 3, inheritable=True)
            p = subprocess.Popen([shim], stdin=subprocess.DEVNULL, pass_fds=(3,), close_fds=True)
            theirs.close()
            ours.sendall(encoded)
            procs.append(p)
            socks.append(ours)
        for sock in socks:  # every monitor reached `ready`: idle from here on
            buf = b""
            while b"ready\n" not in buf:
                chunk = sock.recv(256)
                if not chunk:
                    raise SystemExit("shim closed the socket before ready")
                buf += chunk
        if tmp:
            for i in range(n):  # the line is logged and a client is attached
                while not os.path.exists(f"{tmp}/{i}/log") or os.path.getsize(f"{tmp}/{i}/log") == 0:
                    time.sleep(0.01)
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.connect(f"{tmp}/{i}/attach.sock")
                clients.append(c)
        time.sleep(1.5)  # past the monitor's 1 s idle release of its buffers
        rolls = [rollup(p.pid) for p in procs]
        pss = sum(r["Pss"] for r in rolls) / n
        rss = sum(r["Rss"] for r in rolls) / n
        priv = sum(r.get("Private_Clean", 0) + r.get("Private_Dirty", 0) for r in rolls) / n
        print(f"{shim}: {n} idle monitors{' with log+attach' if io else ''}, plan {len(encoded)} B, per monitor: Pss {pss:.1f} kB, Rss {rss:.1f} kB, Private {priv:.1f} kB")
    finally:
        for p in procs:
            p.terminate()  # forwarded to sleep; the monitor then exits
        for p in procs:
            p.wait()
        for c in clients:
            c.close()
        if tmp:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
