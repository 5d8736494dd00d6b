/*
 * Small helpers shared by every section, and the ops that may run in any of them
 * (WRITE_FILE, UNSHARE, SYNC, SET_DUMPABLE).
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <net/if.h>
#include <string.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* One write(), as procfs, sysfs and cgroupfs want it; returns 0 or an errno. */
int write_path(const char *path, const char *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = write(fd, data, len);
  int err = n < 0 ? errno : (size_t)n != len ? EIO : 0;
  close(fd);
  return err;
}

/*
 * clone3 with stack 0 behaves like fork, and takes the flags clone() cannot (CLONE_NEWTIME
 * overlaps the exit-signal byte of clone()). We call the kernel directly: the libc fork()
 * runs atfork machinery we do not need.
 */
pid_t clone_process(uint64_t flags) {
  struct shim_clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = flags;
  args.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0 && errno == ENOSYS) pid = syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
  return (pid_t)pid;
}

/*
 * RFC 3339 in UTC from the epoch, by the days-to-civil-date arithmetic of the proleptic
 * Gregorian calendar (eras of 400 years); `trim` drops trailing zeros as Go's RFC3339Nano. Our own: gmtime/strftime would pull the time
 * zone machinery into every monitor for one timestamp.
 */
void rfc3339(char *out, size_t size, const struct timespec *ts, int trim) {
  long long secs = ts->tv_sec, days = secs / 86400, rem = secs % 86400;
  if (rem < 0) rem += 86400, days--;
  days += 719468; /* from 1970-01-01 to 0000-03-01 */
  long long era = (days >= 0 ? days : days - 146096) / 146097;
  long long doe = days - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  long long mp = (5 * doy + 2) / 153;
  long long day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
  long long year = yoe + era * 400 + (month <= 2);
  int n = snprintf(out, size, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%09ldZ", year, month, day, rem / 3600,
                   rem / 60 % 60, rem % 60, (long)ts->tv_nsec);
  if (!trim || n < 11 || (size_t)n >= size) return;
  /* Go's RFC3339Nano (docker's json-file "time"): no trailing zeros, no dot without digits */
  char *p = out + n - 2;
  while (*p == '0') p--;
  if (*p == '.') p--;
  p[1] = 'Z';
  p[2] = 0;
}

/* In the container process, or in a spare shim that prepares a network namespace ahead. */
static void op_loopback_up(void) {
  struct ifreq ifr;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(errno, "socket", "loopback");
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) fail(errno, "ioctl", "SIOCGIFFLAGS lo");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) fail(errno, "ioctl", "SIOCSIFFLAGS lo");
  close(fd);
}

int common_op(const struct rec *r) {
  switch (r->op) {
  case OP_WRITE_FILE: {
    const char *path = arg_str(r, 0), *data = arg_str(r, 1);
    int err = write_path(path, data, r->args[1].len - 1);
    if (err) fail(err, "write", "%s", path);
    return 1;
  }
  case OP_UNSHARE:
    if (unshare((int)arg_u64(r, 0)) < 0) fail(errno, "unshare", "flags 0x%llx", (unsigned long long)arg_u64(r, 0));
    return 1;
  case OP_SYNC:
    msg_sync(arg_str(r, 0));
    return 1;
  case OP_LOOPBACK_UP:
    op_loopback_up();
    return 1;
  case OP_SET_DUMPABLE:
    if (prctl(PR_SET_DUMPABLE, (unsigned long)arg_u64(r, 0), 0, 0, 0) < 0) fail(errno, "prctl", "PR_SET_DUMPABLE");
    return 1;
  default:
    return 0;
  }
}
