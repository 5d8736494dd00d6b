/*
 * EXEC (the last step of every plan) and RUN_HOOK (an OCI hook run from inside the
 * container's namespaces, e.g. createContainer).
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* argv (argc strings from `first`) and the environment (the rest), NULL-terminated. */
static void vectors(const struct rec *r, uint32_t first, uint32_t argc, char ***argv, char ***envp) {
  uint32_t nenv = r->nargs - first - argc;
  *argv = calloc(argc + 1, sizeof **argv);
  *envp = calloc(nenv + 1, sizeof **envp);
  if (*argv == NULL || *envp == NULL) fail(ENOMEM, "exec", "allocate");
  for (uint32_t i = 0; i < argc; i++) (*argv)[i] = (char *)arg_str(r, first + i);
  for (uint32_t i = 0; i < nenv; i++) (*envp)[i] = (char *)arg_str(r, first + argc + i);
}

/* execvp's search, but in the container's PATH rather than ours. Returns an errno. */
static int exec_search(const char *file, const char *path, char **argv, char **envp) {
  char buf[PATH_MAX];
  int eacces = 0, err = ENOENT;
  if (!*path) path = DEFAULT_PATH;
  for (const char *p = path;; p++) {
    size_t len = strcspn(p, ":");
    int n = snprintf(buf, sizeof buf, "%.*s/%s", len ? (int)len : 1, len ? p : ".", file);
    if (n > 0 && (size_t)n < sizeof buf) {
      execve(buf, argv, envp);
      err = errno;
      if (err == EACCES)
        eacces = 1;
      else if (err != ENOENT && err != ENOTDIR)
        return err;
    }
    p += len;
    if (!*p) break;
  }
  return eacces ? EACCES : err;
}

_Noreturn void op_exec(const struct rec *r) {
  char **argv, **envp;
  int err;
  vectors(r, 2, (uint32_t)arg_u64(r, 1), &argv, &envp);
  chan_put(CHAN_EXEC);
  if (strchr(argv[0], '/')) {
    execve(argv[0], argv, envp);
    err = errno;
  } else {
    err = exec_search(argv[0], arg_str(r, 0), argv, envp);
  }
  /* docker's codes: 127 not found, 126 found but not runnable */
  fail_exit(err == ENOENT || err == ENOTDIR ? 127 : 126, err, "exec", "%s", argv[0]);
}

/* The hook reads the state on stdin; it may exit without reading: no SIGPIPE for us. */
static void feed_state(int fd, const char *state, size_t len) {
  sigset_t pipe_set, old;
  struct timespec zero = {0, 0};
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigprocmask(SIG_BLOCK, &pipe_set, &old);
  (void)write_all(fd, state, len);
  while (sigtimedwait(&pipe_set, NULL, &zero) > 0) {
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
}

void op_run_hook(const struct rec *r) {
  uint64_t timeout = arg_u64(r, 0);
  const char *state = arg_str(r, 1), *path = arg_str(r, 2);
  char **argv, **envp;
  int in[2], status = 0, timed_out = 0;
  vectors(r, 4, (uint32_t)arg_u64(r, 3), &argv, &envp);
  if (pipe2(in, O_CLOEXEC) < 0) fail(errno, "pipe", "hook %s", path);
  pid_t pid = clone_process(0);
  if (pid < 0) fail(errno, "fork", "hook %s", path);
  if (pid == 0) {
    if (dup2(in[0], 0) < 0 || fcntl(0, F_SETFD, 0) < 0) _exit(127);
    execve(path, argv, envp);
    _exit(errno == ENOENT ? 127 : 126);
  }
  close(in[0]);
  feed_state(in[1], state, r->args[1].len - 1);
  close(in[1]);
  if (timeout) {
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int ms = timeout > INT_MAX ? INT_MAX : (int)timeout, rc;
    do rc = poll(&p, 1, ms);
    while (rc < 0 && errno == EINTR);
    if (pidfd >= 0 && rc == 0) {
      kill(pid, SIGKILL);
      timed_out = 1;
    }
    if (pidfd >= 0) close(pidfd);
  }
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) fail(errno, "waitpid", "hook %s", path);
  if (timed_out) fail(ETIMEDOUT, "hook", "%s: timed out after %llu ms", path, (unsigned long long)timeout);
  if (WIFSIGNALED(status)) fail(0, "hook", "%s: killed by signal %d", path, WTERMSIG(status));
  if (WEXITSTATUS(status)) fail(0, "hook", "%s: exit status %d", path, WEXITSTATUS(status));
  free(argv);
  free(envp);
}
