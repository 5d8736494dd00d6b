/*
 * The container process: waits for the go byte, then runs the child section as a flat
 * script, one function per op, ending with EXEC. Ops too small for a file of their own
 * live here; mounts, security, console and exec have theirs.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static void op_sethostname(const struct rec *r, int domain) {
  const char *name = arg_str(r, 0);
  long rc = syscall(domain ? SYS_setdomainname : SYS_sethostname, name, strlen(name));
  if (rc < 0) fail(errno, domain ? "setdomainname" : "sethostname", "%s", name);
}

static void op_setrlimit(const struct rec *r) {
  uint64_t lim[2] = {arg_u64(r, 1), arg_u64(r, 2)};
  int resource = (int)arg_u64(r, 0);
  if (syscall(SYS_prlimit64, 0, resource, lim, NULL) < 0) fail(errno, "setrlimit", "resource %d", resource);
}

static void op_setresid(const struct rec *r, int gid) {
  /* raw syscalls: libc's wrappers broadcast to threads, which a raw clone leaves stale */
  unsigned long id = (unsigned long)arg_u64(r, 0);
  long rc = syscall(gid ? SYS_setresgid : SYS_setresuid, id, id, id);
  if (rc < 0) fail(errno, gid ? "setresgid" : "setresuid", "%lu", id);
}

static void op_prctl(int option, unsigned long value, const char *name) {
  if (prctl(option, value, 0, 0, 0) < 0) fail(errno, "prctl", "%s", name);
}

/* CVE-2024-21626: a leaked directory fd could leave the cwd outside the new root. */
static void op_chdir(const struct rec *r) {
  char cwd[4096];
  const char *path = arg_str(r, 0);
  if (chdir(path) < 0) fail(errno, "chdir", "%s", path);
  if (syscall(SYS_getcwd, cwd, sizeof cwd) < 0) fail(errno, "getcwd", "%s", path);
  if (cwd[0] != '/') fail(0, "chdir", "%s: working directory is outside the container", path);
}

static void op_close_fds(const struct rec *r) {
  unsigned first = (unsigned)arg_u64(r, 0);
  if (syscall(SYS_close_range, first, ~0U, SHIM_CLOSE_RANGE_CLOEXEC) < 0) fail(errno, "close_range", "%u", first);
}

/* The parent section is done (cgroup membership in place): its EXIT or WAIT sent the byte. */
static void op_wait_parent(void) {
  char c;
  ssize_t n;
  do n = read(S.chan, &c, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1 || c != CHAN_GO) _exit(125); /* the parent failed: it reports and reaps us */
}

static void op_wait_start(void) {
  char c;
  ssize_t n;
  if (S.fifo_r < 0) fail(0, "wait_start", "no start fifo in the plan");
  if (fcntl(S.fifo_r, F_SETFL, 0) < 0) fail(errno, "fcntl", "start fifo");
  do n = read(S.fifo_r, &c, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1) fail(n < 0 ? errno : 0, "read", "start fifo");
  close_fd(&S.fifo_r);
  close_fd(&S.fifo_w);
}

/*
 * The caller's preserved descriptors arrive as fds 4.. (fd 3 is our socket) and the
 * container expects them from 3 (runc --preserve-fds, LISTEN_FDS). Our socket moves above
 * them first; every other fd of ours was opened later, so it is already above them.
 */
static void op_preserve_fds(const struct rec *r) {
  uint64_t count = arg_u64(r, 0);
  if (count == 0) return;
  if (count > 4096) fail(EINVAL, "preserve_fds", "%llu descriptors", (unsigned long long)count);
  int sock = fcntl(S.sock, F_DUPFD_CLOEXEC, (int)count + 4);
  if (sock < 0) fail(errno, "fcntl", "move fd 3");
  S.sock = sock;
  for (int i = 0; i < (int)count; i++)
    if (dup2(4 + i, 3 + i) < 0) fail(errno, "dup2", "fd %d to %d", 4 + i, 3 + i);
  close(3 + (int)count);
}

static void child_op(const struct rec *r) {
  if (common_op(r)) return;
  switch (r->op) {
  case OP_SETSID:
    if (setsid() < 0) fail(errno, "setsid", "init");
    break;
  case OP_MOUNT: op_mount(r); break;
  case OP_OPEN_ROOT: op_open_root(r); break;
  case OP_MOUNT_IN_ROOT: op_mount_in_root(r); break;
  case OP_MKDIR_IN_ROOT: op_mkdir_in_root(r); break;
  case OP_MKFILE_IN_ROOT: op_mkfile_in_root(r); break;
  case OP_MKNOD_IN_ROOT: op_mknod_in_root(r); break;
  case OP_SYMLINK_IN_ROOT: op_symlink_in_root(r); break;
  case OP_CHMOD_IN_ROOT: op_chmod_in_root(r); break;
  case OP_REMOUNT: op_remount(r); break;
  case OP_PIVOT_ROOT: op_pivot_root(r); break;
  case OP_CHROOT: op_chroot(r); break;
  case OP_MASK_PATH: op_mask_path(r); break;
  case OP_READONLY_PATH: op_readonly_path(r); break;
  case OP_SETHOSTNAME: op_sethostname(r, 0); break;
  case OP_SETDOMAINNAME: op_sethostname(r, 1); break;
  case OP_SETRLIMIT: op_setrlimit(r); break;
  case OP_RUN_HOOK: op_run_hook(r); break;
  case OP_CONSOLE: op_console(r); break;
  case OP_CAP_BOUNDING: op_cap_bounding(r); break;
  case OP_KEEPCAPS: op_prctl(PR_SET_KEEPCAPS, (unsigned long)arg_u64(r, 0), "PR_SET_KEEPCAPS"); break;
  case OP_SETGROUPS: op_setgroups(r); break;
  case OP_SETRESGID: op_setresid(r, 1); break;
  case OP_SETRESUID: op_setresid(r, 0); break;
  case OP_CAPSET: op_capset(r); break;
  case OP_AMBIENT: op_ambient(r); break;
  case OP_NO_NEW_PRIVS: op_prctl(PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS"); break;
  case OP_UMASK: umask((mode_t)arg_u64(r, 0)); break;
  case OP_PERSONALITY:
    if (syscall(SYS_personality, (unsigned long)arg_u64(r, 0)) < 0) fail(errno, "personality", "0x%llx", (unsigned long long)arg_u64(r, 0));
    break;
  case OP_CHDIR: op_chdir(r); break;
  case OP_CLOSE_FDS: op_close_fds(r); break;
  case OP_READY:
    msg_send("ready");
    chan_put(CHAN_READY);
    close_fd(&S.chan); /* nothing more to tell: the parent exits (EXIT) or waits for us (WAIT) */
    break;
  case OP_WAIT_START: op_wait_start(); break;
  case OP_WAIT_PARENT: op_wait_parent(); break;
  case OP_SECCOMP: op_seccomp(r); break;
  case OP_EXEC: op_exec(r);
  case OP_PRESERVE_FDS: op_preserve_fds(r); break;
  case OP_SIGNAL_PARENT_DEATH: op_prctl(PR_SET_PDEATHSIG, (unsigned long)arg_u64(r, 0), "PR_SET_PDEATHSIG"); break;
  default:
    fail(0, "plan", "op %u is not a child op", r->op);
  }
}

_Noreturn void child_main(const struct plan *plan) {
  sigset_t none;
  char c;
  ssize_t n;
  S.role = ROLE_CHILD;
  S.child = 0;
  close_fd(&S.console_peer);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* the parent writes uid/gid maps and cgroup membership first; EOF: it failed */
  do n = read(S.chan, &c, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1 || c != CHAN_GO) _exit(125);
  for (uint32_t i = plan->child_at + 1; i < plan->nrecs; i++) child_op(&plan->recs[i]);
  _exit(0); /* a plan without EXEC (an OCI config without a process) ends here */
}
