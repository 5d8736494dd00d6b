/*
 * ATTACH_SOCKET: a unix stream socket where any number of clients (the daemon, again after
 * each restart) get the container's live output and give it input. Frames both ways:
 *   [stream u8][len u32 big-endian][len bytes]
 * monitor → client: 1 stdout, 2 stderr, 3 exit (len 4: the exit status, u32 BE), then EOF;
 * client → monitor: 0 stdin (len 0: close the container's stdin), 4 resize (len 4: rows,
 * cols, u16 BE each). The container never waits for a client: a frame that does not fit
 * in a client's socket buffer at once drops that client (the log file is the durable
 * record), so nothing is buffered per client beyond the kernel's socket buffer, which is
 * raised to 2 MiB so that a client reading as fast as it can survives output bursts.
 */
#include "shim.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 64
#define CLIENT_SNDBUF (2 << 20) /* the kernel doubles it for its bookkeeping */
#define FRAME_STDIN 0
#define FRAME_EXIT 3
#define FRAME_RESIZE 4

struct client {
  int fd;
  unsigned char head[5]; /* the frame header being read */
  unsigned char hn;
  unsigned char resize[4];
  unsigned char rn;
  uint32_t left; /* payload bytes of the current frame still to read */
};

static int listen_fd = -1; /* apart: an initialised struct would put the client table in .data */
static struct {
  struct sockaddr_un addr;
  struct client c[MAX_CLIENTS];
  int n;
} A;

void op_attach_socket(const struct rec *r) {
  const char *path = arg_str(r, 0);
  if (listen_fd >= 0) fail(0, "plan", "ATTACH_SOCKET twice");
  A.addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof A.addr.sun_path) fail(ENAMETOOLONG, "bind", "%s", path);
  strcpy(A.addr.sun_path, path);
  listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd < 0) fail(errno, "socket", "attach socket");
  /* created 0600 from the start: chmod after bind would leave a window */
  mode_t old = umask(0177);
  int rc = bind(listen_fd, (struct sockaddr *)&A.addr, sizeof A.addr);
  int err = errno;
  umask(old);
  if (rc < 0) fail(err, "bind", "%s", path);
  if (listen(listen_fd, 16) < 0) fail(errno, "listen", "%s", path);
}

static void drop(int i) {
  close(A.c[i].fd);
  A.c[i] = A.c[--A.n];
}

static int find(int fd) {
  for (int i = 0; i < A.n; i++)
    if (A.c[i].fd == fd) return i;
  return -1;
}

int attach_pollfds(struct pollfd *p, int max) {
  int n = 0;
  if (listen_fd >= 0 && n < max) p[n++] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
  /* while the container has not taken the last input, read no more (hang-ups still show) */
  short ev = stdio_input_blocked() ? 0 : POLLIN;
  for (int i = 0; i < A.n && n < max; i++) p[n++] = (struct pollfd){.fd = A.c[i].fd, .events = ev};
  return n;
}

static void accept_all(void) {
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return; /* EAGAIN, or a client that gave up already */
    if (A.n == MAX_CLIENTS) {
      close(fd);
      continue;
    }
    /* slack for bursts, in the kernel's socket buffer (only used while the client lags) */
    int size = CLIENT_SNDBUF;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size); /* capped by net.core.wmem_max */
    A.c[A.n++] = (struct client){.fd = fd};
  }
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One read from client i; 0 to keep it, -1 to drop it (EOF, error, a frame we do not take). */
static int on_client(int i) {
  struct client *c = &A.c[i];
  ssize_t r;
  if (c->hn < sizeof c->head) {
    r = read(c->fd, c->head + c->hn, sizeof c->head - c->hn);
    if (r < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (r == 0) return -1;
    c->hn += (unsigned char)r;
    if (c->hn < sizeof c->head) return 0;
    c->left = be32(c->head + 1);
    if (c->head[0] == FRAME_RESIZE) return c->left == 4 ? 0 : -1;
    if (c->head[0] != FRAME_STDIN) return -1;
    if (c->left == 0) {
      stdio_close_input();
      c->hn = 0;
    }
    return 0;
  }
  if (c->head[0] == FRAME_RESIZE) {
    r = read(c->fd, c->resize + c->rn, sizeof c->resize - c->rn);
    if (r < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (r == 0) return -1;
    c->rn += (unsigned char)r;
    if (c->rn == sizeof c->resize) {
      stdio_resize((unsigned short)(c->resize[0] << 8 | c->resize[1]), (unsigned short)(c->resize[2] << 8 | c->resize[3]));
      c->hn = c->rn = 0;
    }
    return 0;
  }
  if (stdio_input_blocked()) return 0;
  size_t cap;
  char *buf = stdio_inbuf(&cap);
  r = read(c->fd, buf, c->left < cap ? c->left : cap);
  if (r < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
  if (r == 0) return -1;
  c->left -= (uint32_t)r;
  if (c->left == 0) c->hn = 0;
  stdio_input((size_t)r);
  return 0;
}

void attach_events(const struct pollfd *p, int n) {
  for (int k = 0; k < n; k++) {
    if (!p[k].revents) continue;
    if (p[k].fd == listen_fd) {
      accept_all();
      continue;
    }
    int i = find(p[k].fd);
    if (i < 0) continue; /* dropped by a broadcast meanwhile */
    if (!(p[k].revents & POLLIN) || on_client(i) < 0) drop(i);
  }
}

static void send_frame(int stream, const char *data, size_t len) {
  unsigned char head[5] = {(unsigned char)stream, (unsigned char)(len >> 24), (unsigned char)(len >> 16),
                           (unsigned char)(len >> 8), (unsigned char)len};
  struct iovec iov[2] = {{.iov_base = head, .iov_len = sizeof head}, {.iov_base = (void *)data, .iov_len = len}};
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
  for (int i = 0; i < A.n; i++) {
    ssize_t w;
    do w = sendmsg(A.c[i].fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w != (ssize_t)(sizeof head + len)) drop(i--); /* slow or gone: it must not hold the container */
  }
}

void attach_broadcast(int stream, const char *data, size_t len) {
  if (A.n) send_frame(stream, data, len);
}

/*
 * Closing a unix socket whose peer's input we have not read resets the peer (ECONNRESET), and
 * a peer still writing gets EPIPE: either way a client such as node drops its connection with
 * our last output unread in it (`run -i` lost its output when its stdin frames came after the
 * container ended). So after the exit frame: EOF to each client, then read and discard what
 * they still send until they close their side too (node does at our EOF), for LINGER_MS at most.
 */
#define LINGER_MS 200

static void linger_clients(void) {
  struct pollfd p[MAX_CLIENTS];
  int open = A.n;
  for (int i = 0; i < A.n; i++) {
    shutdown(A.c[i].fd, SHUT_WR);
    p[i] = (struct pollfd){.fd = A.c[i].fd, .events = POLLIN};
  }
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (open > 0) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (waited >= LINGER_MS) return;
    int ready = poll(p, (nfds_t)A.n, (int)(LINGER_MS - waited));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return;
    for (int i = 0; i < A.n; i++) {
      if (p[i].fd < 0 || !p[i].revents) continue;
      char sink[4096];
      ssize_t r = read(p[i].fd, sink, sizeof sink);
      if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR))) continue;
      p[i].fd = -1; /* EOF or an error: this one is done */
      open--;
    }
  }
}

/* After the exit file is written: the status, then EOF; the socket goes with the monitor. */
void attach_exit(int code) {
  unsigned char status[4] = {(unsigned char)((unsigned)code >> 24), (unsigned char)((unsigned)code >> 16),
                             (unsigned char)((unsigned)code >> 8), (unsigned char)code};
  if (listen_fd < 0) return;
  accept_all(); /* clients still in the backlog get the exit frame too */
  send_frame(FRAME_EXIT, (const char *)status, sizeof status);
  linger_clients();
  while (A.n) drop(A.n - 1);
  unlink(A.addr.sun_path);
  close_fd(&listen_fd);
}
