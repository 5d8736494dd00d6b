/*
 * Launcher ops: run by the shim before the container process exists, or as the whole plan
 * when it has no CLONE (native/PLAN.md, "Sections"). Descriptors opened here are inherited
 * by both sides of the clone; each side closes what belongs to the other right after it.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void op_setns(const struct rec *r) {
  const char *path = arg_str(r, 0);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(errno, "open", "%s", path);
  if (setns(fd, (int)arg_u64(r, 1)) < 0) fail(errno, "setns", "%s", path);
  close(fd);
}

static void op_daemonize(void) {
  pid_t pid = clone_process(0);
  if (pid < 0) fail(errno, "fork", "daemonize");
  if (pid > 0) _exit(0);
  if (setsid() < 0) fail(errno, "setsid", "daemonize");
}

static void op_open_fifo(const struct rec *r) {
  const char *path = arg_str(r, 0);
  if (mkfifo(path, 0600) < 0) fail(errno, "mkfifo", "%s", path);
  /* the read end first: opening only the write end of a fifo without a reader fails */
  S.fifo_r = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (S.fifo_r < 0) fail(errno, "open", "%s", path);
  S.fifo_w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (S.fifo_w < 0) fail(errno, "open", "%s", path);
}

static void op_console_socket(const struct rec *r) {
  const char *path = arg_str(r, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) fail(ENAMETOOLONG, "connect", "%s", path);
  strcpy(addr.sun_path, path);
  S.console = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (S.console < 0) fail(errno, "socket", "console socket");
  if (connect(S.console, (struct sockaddr *)&addr, sizeof addr) < 0) fail(errno, "connect", "%s", path);
}

static void op_console_pair(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) fail(errno, "socketpair", "console");
  S.console_peer = sv[0];
  S.console = sv[1];
}

/* Host mounts for the daemon (a plan of launcher ops only): layer paths may be relative to it. */
static void op_host_chdir(const struct rec *r) {
  const char *path = arg_str(r, 0);
  if (chdir(path) < 0) fail(errno, "chdir", "%s", path);
}

static void op_umount(const struct rec *r) {
  const char *target = arg_str(r, 0);
  if (umount2(target, (int)arg_u64(r, 1)) < 0) fail(errno, "umount", "%s", target);
}

static void op_clone_into_cgroup(const struct rec *r) {
  const char *dir = arg_str(r, 0);
  close_fd(&S.cgroup_fd);
  S.cgroup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (S.cgroup_fd < 0) fail(errno, "open", "%s", dir);
}

void launcher_op(const struct rec *r) {
  if (common_op(r)) return;
  switch (r->op) {
  case OP_SETNS:
    op_setns(r);
    break;
  case OP_DAEMONIZE:
    op_daemonize();
    break;
  case OP_OPEN_FIFO:
    op_open_fifo(r);
    break;
  case OP_CONSOLE_SOCKET:
    op_console_socket(r);
    break;
  case OP_CONSOLE_PAIR:
    op_console_pair();
    break;
  case OP_STDIO_PIPES:
    op_stdio_pipes(r);
    break;
  case OP_LOG_FILE:
    op_log_file(r);
    break;
  case OP_ATTACH_SOCKET:
    op_attach_socket(r);
    break;
  case OP_MOUNT:
    op_mount(r);
    break;
  case OP_CHDIR:
    op_host_chdir(r);
    break;
  case OP_UMOUNT:
    op_umount(r);
    break;
  case OP_CLONE_INTO_CGROUP:
    op_clone_into_cgroup(r);
    break;
  case OP_DEVICE_FILTER:
    op_device_filter(r);
    break;
  case OP_SERVE:
    fail(0, "plan", "SERVE is a plan of its own");
  case OP_PREPARED:
    fail(0, "plan", "PREPARED ends a spare's first plan");
  default:
    fail(0, "plan", "op %u is not a launcher op", r->op);
  }
}
