#!/usr/bin/env python3
"""Measures the memory of idle berth-shim monitors (native/README.md, "Memory").

Starts N shims in WAIT mode, each monitoring a `sleep`, waits until they are idle, and
reads Pss/Rss from /proc/<shim>/smaps_rollup. Usage: measure-pss.py SHIM [N [ENV_KB]];
ENV_KB pads the container's environment to model a realistic plan size. Run as root so
the binary can also be measured from a read-only bind mount (the installed layout).
"""
import os
import socket
import struct
import subprocess
import sys
import time

MAGIC = b"BRTHPLN1"
CLONE, WAIT, CHILD, READY, EXEC = 8, 14, 15, 47, 50


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


def plan(env_kb):
    env = [s(f"VAR{i}=" + "x" * 58) for i in range(env_kb * 1024 // 64)]
    return encode([
        (CLONE, [u64(0)]),
        (WAIT, [s(""), u64(1)]),
        (CHILD, []),
        (READY, []),
        (EXEC, [s("/usr/bin:/bin"), u64(2), s("sleep"), s("1000")] + env),
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
    encoded = plan(env_kb)
    procs, socks = [], []
    placeholder = os.open("/dev/null", os.O_RDONLY)  # keeps our sockets off fd 3
    if placeholder != 3:
        os.dup2(placeholder, 3)
    try:
        for _ in range(n):
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
        time.sleep(0.5)
        rolls = [rollup(p.pid) for p in procs]
        pss = sum(r["Pss"] for r in rolls) / n
        rss = sum(r["Rss"] for r in rolls) / n
        priv = sum(r.get("Private_Clean", 0) + r.get("Private_Dirty", 0) for r in rolls) / n
        print(f"{shim}: {n} idle monitors, plan {len(encoded)} B, per monitor: Pss {pss:.1f} kB, Rss {rss:.1f} kB, Private {priv:.1f} kB")
    finally:
        for p in procs:
            p.terminate()  # forwarded to sleep; the monitor then exits
        for p in procs:
            p.wait()


if __name__ == "__main__":
    main()
