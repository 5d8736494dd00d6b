/*
 * CONSOLE: the container's pty. The master goes out over the console socket (SCM_RIGHTS),
 * to whoever asked with --console-socket or to our own monitor (CONSOLE_PAIR); the slave
 * becomes the controlling terminal and stdio of the container process, and, when the plan
 * names a path (the init's /dev/console, as the OCI spec asks), is bind-mounted there.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

int send_fd(int sock, int fd, const char *name) {
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  memset(control, 0, sizeof control);
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -1 : 0;
}

int recv_fd(int sock) {
  char control[CMSG_SPACE(sizeof(int))], name[256];
  struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      memcpy(&fd, CMSG_DATA(c), sizeof fd);
      return fd;
    }
  }
  return -1;
}

void op_console(const struct rec *r) {
  char name[32];
  int unlock = 0, ptn = 0;
  unsigned short rows = (unsigned short)arg_u64(r, 0), cols = (unsigned short)arg_u64(r, 1);
  if (S.console < 0) fail(EBADF, "console", "no console socket in the plan");
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fail(errno, "open", "/dev/ptmx");
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) fail(errno, "unlockpt", "/dev/ptmx");
  if (ioctl(master, TIOCGPTN, &ptn) < 0) fail(errno, "ptsname", "/dev/ptmx");
  snprintf(name, sizeof name, "/dev/pts/%d", ptn);
  /* TIOCGPTPEER opens the slave through the master: no path lookup in the container */
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) fail(errno, "open", "%s", name);
  if (rows || cols) {
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    if (ioctl(slave, TIOCSWINSZ, &ws) < 0) fail(errno, "ioctl", "TIOCSWINSZ %s", name);
  }
  const char *console_path = arg_str(r, 2);
  if (console_path[0] != '\0') {
    /* an empty file to mount on, never a link followed out of the container's /dev */
    int target = open(console_path, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (target < 0) fail(errno, "open", "%s", console_path);
    close(target);
    if (mount(name, console_path, NULL, MS_BIND, NULL) < 0) fail(errno, "mount", "%s on %s", name, console_path);
  }
  if (send_fd(S.console, master, name) < 0) fail(errno, "sendmsg", "console socket");
  close(master);
  close_fd(&S.console);
  if (ioctl(slave, TIOCSCTTY, 0) < 0) fail(errno, "ioctl", "TIOCSCTTY %s", name);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) fail(errno, "dup2", "%s to %d", name, fd);
  if (slave > 2) close(slave);
}
