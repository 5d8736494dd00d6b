/*
 * berth-init: `docker run --init`. Runs as the container's PID 1 (mounted read-only at
 * /sbin/docker-init) as `berth-init [--] COMMAND [ARG...]`: forks the command, forwards
 * every catchable signal to it, reaps every process that ends beneath it (orphans are
 * re-parented to PID 1, or to us as a child subreaper when we are not PID 1), and exits with
 * the command's status, 128+N when signal N killed it — what tini does as docker-init.
 *
 * A PID namespace's init gets no signal it has no handler for, except from the host's
 * SIGKILL: so every signal stays blocked here and is taken with sigtimedwait(), which the
 * kernel counts as wanting it. The command runs in its own process group and, with a
 * terminal on stdin, as its foreground group, so ^C and job control reach it and not us.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Synchronous faults are the process's own: never forwarded, never blocked. */
static const int unblocked[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS, SIGTTIN, SIGTTOU};

static void say(const char *a, const char *b, int err) {
  const char *parts[] = {"berth-init: ", a, b, err ? ": " : "", err ? strerror(err) : "", "\n"};
  for (unsigned i = 0; i < sizeof parts / sizeof *parts; i++) {
    size_t n = strlen(parts[i]);
    while (n > 0) {
      ssize_t w = write(2, parts[i], n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return;
      parts[i] += w;
      n -= (size_t)w;
    }
  }
}

static int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

/* The command: default dispositions and an empty mask (execve keeps both), its own group. */
static void run_command(char **argv, const sigset_t *original) {
  if (setpgid(0, 0) < 0) say("setpgid", "", errno);
  // still ignoring SIGTTOU: a background group may not take the terminal otherwise.
  // ENOTTY/ENXIO: no terminal, nothing to hand over
  if (tcsetpgrp(0, getpgrp()) < 0 && errno != ENOTTY && errno != ENXIO) say("tcsetpgrp", "", errno);
  signal(SIGTTIN, SIG_DFL);
  signal(SIGTTOU, SIG_DFL);
  sigprocmask(SIG_SETMASK, original, NULL);
  execvp(argv[0], argv);
  int err = errno;
  say("exec ", argv[0], err);
  _exit(err == ENOENT ? 127 : 126);
}

/* Reaps everything that has ended; returns 1 once the command is among them. */
static int reap(pid_t command, int *status) {
  int done = 0;
  for (;;) {
    int st;
    pid_t pid = waitpid(-1, &st, WNOHANG);
    if (pid == 0) return done;
    if (pid < 0) {
      if (errno == EINTR) continue;
      return done; // ECHILD: nothing left
    }
    if (pid == command) {
      *status = st;
      done = 1;
    }
  }
}

int main(int argc, char **argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0) first++;
  if (first >= argc) {
    say("usage: berth-init [--] COMMAND [ARG...]", "", 0);
    return 2;
  }
  sigset_t all, original;
  sigfillset(&all);
  for (unsigned i = 0; i < sizeof unblocked / sizeof *unblocked; i++) sigdelset(&all, unblocked[i]);
  if (sigprocmask(SIG_SETMASK, &all, &original) < 0) {
    say("sigprocmask", "", errno);
    return 1;
  }
  // as a background process we must not be stopped for touching the terminal
  signal(SIGTTIN, SIG_IGN);
  signal(SIGTTOU, SIG_IGN);
  if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) say("become a subreaper", "", errno);

  pid_t command = fork();
  if (command < 0) {
    say("fork", "", errno);
    return 1;
  }
  if (command == 0) run_command(argv + first, &original);

  int status = 0;
  for (;;) {
    siginfo_t info;
    // a timeout bounds how long a lost SIGCHLD (coalesced with another) could delay a reap
    struct timespec tick = {1, 0};
    int sig = sigtimedwait(&all, &info, &tick);
    if (sig < 0 && errno != EAGAIN && errno != EINTR) {
      say("sigtimedwait", "", errno);
      return 1;
    }
    if (sig > 0 && sig != SIGCHLD && kill(command, sig) < 0 && errno != ESRCH) say("forward a signal", "", errno);
    if (reap(command, &status)) break;
  }
  // orphans that ended with the command; the kernel kills the rest when PID 1 exits
  int ignored;
  reap(-1, &ignored);
  return exit_code(status);
}
