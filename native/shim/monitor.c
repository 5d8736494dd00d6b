/*
 * WAIT: the shim stays as the container's monitor. It sits in one poll() on a signalfd
 * (SIGCHLD and the forwarded signals) and, with CONSOLE_PAIR, the pty master and its
 * own stdin; with STDIO_PIPES, the container's stdio, log file and attach clients instead
 * (stdio.c). As a child subreaper it also reaps orphans re-parented to it. When the
 * container process ends: exit file, exit frame to attach clients, `exit <code>`, same
 * exit status.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};

static struct {
  int sfd;
  int master; /* pty master received over the console pair */
  int in;     /* our stdin, relayed to the master; -1 once it reached EOF */
  int raw;
  struct termios saved;
  int done;
  int status;
} M = {.sfd = -1, .master = -1, .in = -1};

static char buf[4096];

static void copy_winsize(void) {
  struct winsize ws;
  if (M.master >= 0 && ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(M.master, TIOCSWINSZ, &ws);
}

static void restore_tty(void) {
  if (M.raw) tcsetattr(0, TCSANOW, &M.saved);
  M.raw = 0;
}

/* Only a terminal goes raw: the container's pty does the line discipline. */
static void start_relay(int master) {
  struct termios t;
  M.master = master;
  M.in = 0;
  if (isatty(0) && tcgetattr(0, &M.saved) == 0) {
    t = M.saved;
    cfmakeraw(&t);
    if (tcsetattr(0, TCSANOW, &t) == 0) M.raw = 1;
  }
  copy_winsize();
}

/* Copies one read's worth; -1 at EOF or error of `from`. */
static int pump(int from, int to) {
  ssize_t n = read(from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
  if (n <= 0) return -1;
  (void)write_all(to, buf, (size_t)n);
  return 0;
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid == S.child) {
      M.status = status;
      M.done = 1;
    }
  }
}

static void on_signals(void) {
  struct signalfd_siginfo si;
  while (read(M.sfd, &si, sizeof si) == (ssize_t)sizeof si) {
    int sig = (int)si.ssi_signo;
    if (sig == SIGCHLD)
      reap();
    else if (sig == SIGWINCH && M.master >= 0)
      copy_winsize(); /* the pty signals its foreground group itself */
    else if (!M.done)
      kill(S.child, sig);
  }
}

static void on_console_peer(void) {
  int master = recv_fd(S.console_peer);
  close_fd(&S.console_peer);
  if (stdio_active()) stdio_master(master); /* the log and the attach clients get the pty, not our stdio */
  if (master < 0) return;
  if (!stdio_active()) start_relay(master);
  msg_send("console-ready");
}

static void loop(void) {
  while (!M.done) {
    struct pollfd p[80];
    int n = 0, own, ready;
    p[n++] = (struct pollfd){.fd = M.sfd, .events = POLLIN};
    if (S.console_peer >= 0) p[n++] = (struct pollfd){.fd = S.console_peer, .events = POLLIN};
    if (M.master >= 0) p[n++] = (struct pollfd){.fd = M.master, .events = POLLIN};
    if (M.master >= 0 && M.in >= 0) p[n++] = (struct pollfd){.fd = M.in, .events = POLLIN};
    own = n;
    n += stdio_pollfds(p + n, (int)(sizeof p / sizeof p[0]) - n);
    ready = poll(p, (nfds_t)n, stdio_timeout());
    if (ready < 0) {
      if (errno == EINTR) continue;
      fail(errno, "poll", "monitor");
    }
    if (ready == 0) {
      stdio_idle();
      continue;
    }
    if (n > own) stdio_events(p + own, n - own);
    for (int i = own - 1; i >= 0; i--) {
      if (!p[i].revents) continue;
      int fd = p[i].fd;
      if (fd == M.sfd)
        on_signals();
      else if (fd == S.console_peer)
        on_console_peer();
      else if (fd == M.master && pump(M.master, 1) < 0)
        close_fd(&M.master); /* EIO: every slave is closed */
      else if (fd == M.in && M.master >= 0 && pump(M.in, M.master) < 0)
        M.in = -1;
    }
  }
}

/* Output the container wrote just before it ended is still in the pty. */
static void drain(void) {
  if (M.master < 0) return;
  fcntl(M.master, F_SETFL, O_NONBLOCK);
  for (int i = 0; i < 4096; i++) {
    ssize_t n = read(M.master, buf, sizeof buf);
    if (n <= 0) break;
    (void)write_all(1, buf, (size_t)n);
  }
  close_fd(&M.master);
}

#define EXIT_RECORD_MAX 256

static char exit_tmp[4096];
static int exit_fd = -1;

/*
 * The exit record's file is made, with room for the record, when the monitor starts: a
 * container that fills the disk (its own log, say) must not also lose its exit status.
 * fallocate where the file system has it; zeros written otherwise, which reserve the blocks too.
 */
static void reserve_exit_file(const char *path) {
  static const char zeros[EXIT_RECORD_MAX];
  if (snprintf(exit_tmp, sizeof exit_tmp, "%s.tmp", path) >= (int)sizeof exit_tmp) fail(ENAMETOOLONG, "open", "%s", path);
  exit_fd = open(exit_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (exit_fd < 0) fail(errno, "open", "%s", exit_tmp);
  if (fallocate(exit_fd, 0, 0, EXIT_RECORD_MAX) < 0 && write_all(exit_fd, zeros, sizeof zeros) < 0) fail(errno, "reserve", "%s", exit_tmp);
}

/*
 * Atomic (rename) but not fsynced: the fsync cost the `run --rm` path milliseconds, and buys
 * nothing the daemon lacks — it records every exit it sees durably itself; an exit while it is
 * down and then a host crash reads as a vanished container (255), as after any crash. Written
 * into the room reserved at start; a failure is reported, and the exit still goes out to the
 * daemon and the attach clients.
 */
static void write_exit_file(const char *path, int code, int sig) {
  char json[EXIT_RECORD_MAX], when[128], sigs[16];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  rfc3339(when, sizeof when, &ts, 0);
  if (sig)
    snprintf(sigs, sizeof sigs, "%d", sig);
  else
    strcpy(sigs, "null");
  int len = snprintf(json, sizeof json, "{\"exitCode\":%d,\"signal\":%s,\"finishedAt\":\"%s\"}\n", code, sigs, when);
  if (pwrite(exit_fd, json, (size_t)len, 0) != len || ftruncate(exit_fd, len) < 0) {
    msg_send("error %d write: %s", errno, exit_tmp);
    return;
  }
  close_fd(&exit_fd);
  if (rename(exit_tmp, path) < 0) msg_send("error %d rename: %s", errno, path);
}

_Noreturn void monitor_wait(const struct rec *r) {
  static char exit_file[4096];
  int forward = arg_u64(r, 1) != 0;
  sigset_t set;
  if (r->args[0].len > sizeof exit_file) fail(ENAMETOOLONG, "wait", "exit file");
  memcpy(exit_file, arg_str(r, 0), r->args[0].len);
  plan_release(); /* the monitor may live for months: give the plan's pages back */
  if (exit_file[0]) reserve_exit_file(exit_file);

  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (forward)
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaddset(&set, forwarded[i]);
  if (S.console_peer >= 0 && !stdio_active()) sigaddset(&set, SIGWINCH);
  /* blocked but not read: a closed stdout must not kill the monitor (write gets EPIPE) */
  sigaddset(&set, SIGPIPE);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) fail(errno, "sigprocmask", "monitor");
  sigdelset(&set, SIGPIPE);
  M.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (M.sfd < 0) fail(errno, "signalfd", "monitor");
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) fail(errno, "prctl", "PR_SET_CHILD_SUBREAPER");
  stdio_start();

  /* we keep our end of the channel open but never read it: the exit status says it all here */
  chan_put(CHAN_GO);
  reap(); /* a SIGCHLD before the mask was set is not queued on the signalfd */
  loop();
  S.child = 0;
  drain();
  stdio_drain();
  restore_tty();
  reap();                      /* orphans that ended with it */

  int sig = WIFSIGNALED(M.status) ? WTERMSIG(M.status) : 0;
  int code = sig ? 128 + sig : WEXITSTATUS(M.status);
  if (exit_file[0]) write_exit_file(exit_file, code, sig);
  stdio_exit(code);
  msg_send("exit %d", code);
  _exit(code);
}
