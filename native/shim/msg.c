/*
 * Messages on fd 3 (native/PLAN.md, "Transport"): one line each way. Errors are reported
 * once, by the process where they happen, which then exits: fail() is the only way out.
 */
#include "shim.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct state S = {
    .sock = 3,
    .role = ROLE_SHIM,
    .child = 0,
    .chan = -1,
    .root_fd = -1,
    .fifo_r = -1,
    .fifo_w = -1,
    .console = -1,
    .console_peer = -1,
    .cgroup_fd = -1,
};

static char line[8192];

void msg_send(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof line - 2) n = sizeof line - 2;
  line[n++] = '\n';
  /* MSG_NOSIGNAL: the caller may be gone (after `start`); that must not kill us */
  for (int off = 0; off < n;) {
    ssize_t w = send(S.sock, line + off, (size_t)(n - off), MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    off += (int)w;
  }
}

/* Reads one line byte by byte: the socket is shared with the other process of the shim. */
static int msg_recv(char *buf, size_t size) {
  size_t n = 0;
  for (;;) {
    char c;
    ssize_t r = read(S.sock, &c, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    if (c == '\n') break;
    if (n + 1 < size) buf[n++] = c;
  }
  buf[n] = 0;
  return 0;
}

void msg_sync(const char *name) {
  char reply[512];
  msg_send("sync %s", name);
  if (msg_recv(reply, sizeof reply) < 0) quit(125);
  if (strcmp(reply, "ok") == 0) return;
  if (strncmp(reply, "abort", 5) != 0) fail(0, "sync", "%s: unexpected reply %.64s", name, reply);
  quit(125);
}

/*
 * The child uses write(), not send(): EXEC may follow a seccomp filter, and write is the call
 * every profile allows; it has no SIGPIPE risk, as the parent holds its end until it exits.
 * The parent sends with MSG_NOSIGNAL: after RELEASE_CHILD the child may have failed and closed
 * its end before the parent's last GO byte.
 */
void chan_put(char c) {
  if (S.chan < 0) return;
  if (S.role == ROLE_PARENT) (void)!send(S.chan, &c, 1, MSG_NOSIGNAL);
  else (void)!write(S.chan, &c, 1);
}

_Noreturn void quit(int status) {
  if (S.role == ROLE_CHILD) chan_put(CHAN_FAIL);
  if (S.role == ROLE_PARENT && S.child > 0) {
    kill(S.child, SIGKILL);
    while (waitpid(S.child, NULL, 0) < 0 && errno == EINTR) {
    }
  }
  _exit(status);
}

static _Noreturn void vfail(int status, int err, const char *step, const char *fmt, va_list ap) {
  char detail[4096];
  vsnprintf(detail, sizeof detail, fmt, ap);
  for (char *p = detail; *p; p++)
    if (*p == '\n') *p = ' ';
  msg_send("error %d %s: %s", err, step, detail);
  quit(status);
}

_Noreturn void fail(int err, const char *step, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(125, err, step, fmt, ap);
}

_Noreturn void fail_exit(int status, int err, const char *step, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(status, err, step, fmt, ap);
}
