/*
 * berth-shim: executes an init plan computed by TypeScript (native/PLAN.md). It takes no
 * decisions: launcher ops, clone, parent ops (the shim), child ops (the container
 * process), in order, each failure reported on fd 3 as `error <errno> <step>: <detail>`.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Each side of the clone closes what belongs to the other. */
static void split_descriptors(int child) {
  close_fd(&S.cgroup_fd); /* a host cgroup directory: no use to either side after the clone */
  if (child) {
    close_fd(&S.console_peer);
    stdio_child();
    return;
  }
  stdio_parent();
  close_fd(&S.console);
  close_fd(&S.fifo_r);
  close_fd(&S.fifo_w);
}

/*
 * Whoever started the caller may have left descriptors open without close-on-exec (a shell's
 * pipe, say); a monitor that kept them would hold them for the container's whole life. Keep
 * 0-2, the plan socket and the caller's --preserve-fds (fds 4 ...), close the rest.
 */
static void close_inherited(const struct plan *plan) {
  unsigned keep = 0;
  for (uint32_t i = 0; i < plan->nrecs; i++)
    if (plan->recs[i].op == OP_PRESERVE_FDS) keep = (unsigned)arg_u64(&plan->recs[i], 0);
  if (syscall(SYS_close_range, 4 + keep, ~0U, 0) < 0) fail(errno, "close_range", "%u", 4 + keep);
}

/*
 * The container process. With CLONE_INTO_CGROUP it starts in its cgroup v2 directory: no
 * cgroup.procs write, so no wait for the kernel's migration lock. Kernels without it (before
 * 5.7: EINVAL, E2BIG or no clone3 at all) get a plain clone and the write.
 */
static pid_t clone_container(uint64_t flags) {
  if (S.cgroup_fd < 0) return clone_process(flags);
  struct shim_clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = flags | SHIM_CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = (uint64_t)S.cgroup_fd;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid >= 0 || (errno != ENOSYS && errno != EINVAL && errno != E2BIG)) return (pid_t)pid;
  pid = clone_process(flags);
  if (pid > 0) {
    char text[24];
    int len = snprintf(text, sizeof text, "%ld", pid);
    int procs = openat(S.cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (procs < 0 || write(procs, text, (size_t)len) != len) {
      int err = errno;
      kill((pid_t)pid, SIGKILL);
      fail(err, "write", "cgroup.procs of the CLONE_INTO_CGROUP directory");
    }
    close(procs);
  }
  return (pid_t)pid;
}

/*
 * SERVE: a long-lived helper of the daemon for its host mounts. Plans of launcher ops follow
 * one another on the socket; each is answered `done`, or with its error, after which the
 * helper exits as any shim does (the daemon starts another). EOF: the daemon is gone.
 */
static _Noreturn void serve(void) {
  struct plan plan;
  plan_release();
  while (plan_read_next(S.sock, &plan)) {
    if (plan.clone_at != plan.nrecs) fail(0, "plan", "a served plan has launcher ops only");
    for (uint32_t i = 0; i < plan.nrecs; i++) {
      if (plan.recs[i].op == OP_SERVE) fail(0, "plan", "SERVE in a served plan");
      launcher_op(&plan.recs[i]);
    }
    plan_release();
    /* a relative CHDIR of one plan must not carry over to the next */
    if (chdir("/") < 0) fail(errno, "chdir", "/");
    msg_send("done");
  }
  _exit(0);
}

/*
 * A spare's first plan ends with PREPARED: its launcher ops make what a container will need
 * before the container is asked for (namespaces, native/PLAN.md). The shim says `prepared`
 * and reads the plan it was kept for, which must not be another PREPARED one.
 */
static void prepare(struct plan *plan) {
  for (uint32_t i = 0; i + 1 < plan->nrecs; i++) launcher_op(&plan->recs[i]);
  plan_release();
  msg_send("prepared");
  plan_read(S.sock, plan);
  if (plan->nrecs > 0 && plan->recs[plan->nrecs - 1].op == OP_PREPARED) fail(0, "plan", "a shim is prepared once");
}

int main(int argc, char **argv, char **envp) {
  struct plan plan;
  int chan[2];
  (void)argc;
  if (fcntl(S.sock, F_GETFD) < 0) {
    static const char usage[] = "berth-shim: fd 3 must be the plan socket (see native/PLAN.md)\n";
    (void)!write(2, usage, sizeof usage - 1);
    return 125;
  }
  seal_self(argv, envp);
  if (fcntl(S.sock, F_SETFD, FD_CLOEXEC) < 0) fail(errno, "fcntl", "fd 3");
  plan_read(S.sock, &plan);
  close_inherited(&plan);
  if (plan.nrecs > 0 && plan.recs[plan.nrecs - 1].op == OP_PREPARED) prepare(&plan);
  if (plan.nrecs == 1 && plan.recs[0].op == OP_SERVE) serve();

  for (uint32_t i = 0; i < plan.clone_at; i++) launcher_op(&plan.recs[i]);
  if (plan.clone_at == plan.nrecs) return 0; /* no CLONE: launcher ops only (DEVICE_FILTER on update) */

  const struct rec *clone = &plan.recs[plan.clone_at];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) < 0) fail(errno, "socketpair", "internal channel");
  pid_t pid = clone_container(arg_u64(clone, 0));
  if (pid < 0) fail(errno, "clone", "flags 0x%llx", (unsigned long long)arg_u64(clone, 0));
  if (pid == 0) {
    close(chan[0]);
    S.chan = chan[1];
    split_descriptors(1);
    child_main(&plan);
  }
  close(chan[1]);
  S.chan = chan[0];
  S.role = ROLE_PARENT;
  S.child = pid;
  split_descriptors(0);
  for (uint32_t i = plan.clone_at + 1; i < plan.child_at; i++) parent_op(&plan.recs[i]);
  return 125; /* unreachable: the parent section ends with EXIT or WAIT */
}
