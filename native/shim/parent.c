/*
 * Parent ops: run by the shim after clone(), while the container process waits for the
 * go byte (uid/gid maps and cgroup membership must be in place before it runs). EXIT
 * ends the shim as soon as the container process is "created" (runc create).
 */
#include "shim.h"

#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void op_write_child_file(const struct rec *r) {
  char path[256];
  const char *name = arg_str(r, 0), *data = arg_str(r, 1);
  snprintf(path, sizeof path, "/proc/%d/%s", (int)S.child, name);
  int err = write_path(path, data, r->args[1].len - 1);
  if (err) fail(err, "write", "%s", path);
}

static void op_write_pid_to(const struct rec *r) {
  char pid[24];
  const char *path = arg_str(r, 0);
  int len = snprintf(pid, sizeof pid, "%d", (int)S.child);
  int err = write_path(path, pid, (size_t)len);
  if (err) fail(err, "write", "%s", path);
}

/* The child died without reporting (a signal, or the OOM killer): say so once. */
static _Noreturn void child_died(void) {
  int status = 0;
  while (waitpid(S.child, &status, 0) < 0 && errno == EINTR) {
  }
  S.child = 0;
  if (WIFSIGNALED(status)) fail(0, "init", "killed by signal %d before ready", WTERMSIG(status));
  fail(0, "init", "exited with status %d before ready", WEXITSTATUS(status));
}

/*
 * The container process tells us on the channel: READY (we are done: exit 0), FAIL (it
 * reported an error itself), or EXEC followed by EOF (execve succeeded, no READY in the
 * plan). EOF without EXEC means it died on its own.
 */
static _Noreturn void op_exit(void) {
  int execing = 0;
  chan_put(CHAN_GO);
  for (;;) {
    char c;
    ssize_t n = read(S.chan, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n == 1 && c == CHAN_READY) _exit(0);
    if (n == 1 && c == CHAN_EXEC) {
      execing = 1;
      continue;
    }
    if (n == 1 && c == CHAN_FAIL) quit(125); /* it reported; reap it rather than leave a zombie to init */
    if (n == 1) continue;
    if (execing) _exit(0);
    child_died();
  }
}

void parent_op(const struct rec *r) {
  if (common_op(r)) return;
  switch (r->op) {
  case OP_REPORT_PID:
    msg_send("pid %d", (int)S.child);
    break;
  case OP_WRITE_CHILD_FILE:
    op_write_child_file(r);
    break;
  case OP_WRITE_PID_TO:
    op_write_pid_to(r);
    break;
  case OP_RELEASE_CHILD:
    chan_put(CHAN_GO);
    break;
  case OP_EXIT:
    op_exit();
  case OP_WAIT:
    monitor_wait(r);
  default:
    fail(0, "plan", "op %u is not a parent op", r->op);
  }
}
