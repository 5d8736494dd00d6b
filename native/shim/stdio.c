/*
 * STDIO_PIPES: the monitor owns the container's stdio, so the daemon can die without the
 * container losing a byte. The container writes into pipes (or its pty, with CONSOLE_PAIR)
 * held by the monitor, which copies every chunk to the attached clients (attach.c) and
 * docker's json-file log (logs.c); attached clients' input goes to its stdin.
 *
 * Memory stays bounded and mostly given back: one mapping holds a 16 KiB line buffer per
 * stream (docker's json-file splits lines at 16 KiB) and one page of pending input; after
 * a second without activity the monitor returns the pages that hold no pending data.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define LINE_CAP 16384
#define IN_CAP 4096
#define IDLE_MS 1000
#define STDIO_STDIN 1 /* STDIO_PIPES flag: a pipe for stdin too */

struct stream {
  int fd;
  int id; /* 1 stdout, 2 stderr (a tty is stdout) */
  size_t n; /* bytes in buf not logged yet */
  char *buf;
};

static struct {
  int active;
  int out_w, err_w, in_r; /* the container's ends */
  int in;                 /* where input goes: the stdin pipe or the pty master; -1: nowhere */
  int master;
  struct stream s[3];     /* stdout pipe, stderr pipe, pty master */
  char *mem;
  size_t mem_len;
  char *pend; /* input the container has not taken yet: pend[off, len) */
  size_t pend_off, pend_len;
  int busy;
  int awaiting_master; /* CONSOLE_PAIR: input waits for the pty, not for a pipe the pty replaces */
  int attach_at; /* where attach.c's entries start in the poll set */
} IO = {
    .out_w = -1,
    .err_w = -1,
    .in_r = -1,
    .in = -1,
    .master = -1,
    .s = {{.fd = -1, .id = 1}, {.fd = -1, .id = 2}, {.fd = -1, .id = 1}},
};

static void make_pipe(int *r, int *w) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) fail(errno, "pipe", "stdio");
  *r = p[0];
  *w = p[1];
}

void op_stdio_pipes(const struct rec *r) {
  if (IO.active) fail(0, "plan", "STDIO_PIPES twice");
  IO.active = 1;
  make_pipe(&IO.s[0].fd, &IO.out_w);
  make_pipe(&IO.s[1].fd, &IO.err_w);
  if (arg_u64(r, 0) & STDIO_STDIN) make_pipe(&IO.in_r, &IO.in);
}

int stdio_active(void) { return IO.active; }

/* The container process: the pipes become 0, 1, 2 from its first op (CONSOLE replaces them). */
void stdio_child(void) {
  if (!IO.active) return;
  close_fd(&IO.s[0].fd);
  close_fd(&IO.s[1].fd);
  close_fd(&IO.in);
  if (IO.in_r >= 0 && dup2(IO.in_r, 0) < 0) fail(errno, "dup2", "stdin pipe");
  if (dup2(IO.out_w, 1) < 0 || dup2(IO.err_w, 2) < 0) fail(errno, "dup2", "stdout/stderr pipe");
  close_fd(&IO.in_r);
  close_fd(&IO.out_w);
  close_fd(&IO.err_w);
}

/* The shim after the clone: only the container holds the write ends, so its exit is EOF. */
void stdio_parent(void) {
  if (!IO.active) return;
  close_fd(&IO.in_r);
  close_fd(&IO.out_w);
  close_fd(&IO.err_w);
}

static void nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void stdio_start(void) {
  if (!IO.active) return;
  IO.mem_len = 3 * LINE_CAP + IN_CAP;
  IO.mem = mmap(NULL, IO.mem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (IO.mem == MAP_FAILED) fail(errno, "mmap", "stdio buffers");
  for (int i = 0; i < 3; i++) IO.s[i].buf = IO.mem + (size_t)i * LINE_CAP;
  IO.pend = IO.mem + 3 * LINE_CAP;
  nonblock(IO.s[0].fd);
  nonblock(IO.s[1].fd);
  if (IO.in >= 0) nonblock(IO.in); /* a container that does not read its stdin must not stall us */
  IO.awaiting_master = S.console_peer >= 0;
}

/* With CONSOLE_PAIR the pty master is the container's stdout and stdin (-1: it never came). */
void stdio_master(int master) {
  IO.awaiting_master = 0;
  if (master < 0) return;
  nonblock(master);
  IO.master = IO.s[2].fd = master;
  close_fd(&IO.in);
  IO.in = master;
  IO.pend_len = 0;
}

/*
 * Docker's copier: every complete line is one entry; a buffer full without a newline (or
 * what is left at EOF) is one partial entry, without its newline.
 */
static void log_lines(struct stream *s, int eof) {
  struct timespec ts;
  size_t p = 0;
  char *nl;
  clock_gettime(CLOCK_REALTIME, &ts);
  while ((nl = memchr(s->buf + p, '\n', s->n - p)) != NULL) {
    size_t len = (size_t)(nl - (s->buf + p)) + 1;
    log_entry(s->id, s->buf + p, len, &ts);
    p += len;
  }
  if (p < s->n && (eof || (p == 0 && s->n == LINE_CAP))) {
    log_entry(s->id, s->buf + p, s->n - p, &ts);
    p = s->n;
  }
  log_flush();
  if (p > 0) memmove(s->buf, s->buf + p, s->n - p);
  s->n -= p;
}

static void stream_end(struct stream *s) {
  if (s->n) log_lines(s, 1);
  if (s->fd == IO.master) {
    if (IO.in == IO.master) IO.in = -1;
    IO.master = -1;
  }
  close_fd(&s->fd);
}

/* One read; -1 when nothing more is readable now (EAGAIN) or ever (EOF, EIO of a pty). */
static int pump(struct stream *s) {
  ssize_t r = read(s->fd, s->buf + s->n, LINE_CAP - s->n);
  if (r < 0 && errno == EINTR) return 0;
  if (r < 0 && errno == EAGAIN) return -1;
  if (r <= 0) {
    stream_end(s);
    return -1;
  }
  IO.busy = 1;
  attach_broadcast(s->id, s->buf + s->n, (size_t)r);
  if (!log_active()) return 0;
  s->n += (size_t)r;
  log_lines(s, 0);
  return 0;
}

static void flush_input(void) {
  while (IO.pend_len > 0 && IO.in >= 0) {
    ssize_t w = write(IO.in, IO.pend + IO.pend_off, IO.pend_len);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) return;
    if (w < 0) { /* EPIPE: the container closed its stdin; what it did not read is lost */
      if (IO.in != IO.master) close(IO.in);
      IO.in = -1;
      break;
    }
    IO.pend_off += (size_t)w;
    IO.pend_len -= (size_t)w;
  }
  IO.pend_off = IO.pend_len = 0;
}

int stdio_input_blocked(void) { return IO.pend_len > 0 || IO.awaiting_master; }

/* Where attach.c reads a client's input to: the pending-input page (free while not blocked). */
char *stdio_inbuf(size_t *cap) {
  *cap = IN_CAP;
  return IO.pend;
}

/* Input read into stdio_inbuf(): written now, or kept until the container reads. */
void stdio_input(size_t len) {
  IO.busy = 1;
  if (IO.in < 0) return; /* no stdin to give it to: dropped */
  IO.pend_off = 0;
  IO.pend_len = len;
  flush_input();
}

/* A client's empty stdin frame: EOF on a stdin pipe (a pty gets its EOF character instead). */
void stdio_close_input(void) {
  if (IO.in >= 0 && IO.in != IO.master) {
    close(IO.in);
    IO.in = -1;
  }
}

void stdio_resize(unsigned short rows, unsigned short cols) {
  struct winsize ws = {.ws_row = rows, .ws_col = cols};
  if (IO.master >= 0) ioctl(IO.master, TIOCSWINSZ, &ws);
}

int stdio_pollfds(struct pollfd *p, int max) {
  int n = 0;
  for (int i = 0; i < 3 && n < max; i++)
    if (IO.s[i].fd >= 0) p[n++] = (struct pollfd){.fd = IO.s[i].fd, .events = POLLIN};
  /* the master is also polled for POLLIN above: a second entry, for POLLOUT only while input waits */
  if (IO.pend_len > 0 && IO.in >= 0 && n < max) p[n++] = (struct pollfd){.fd = IO.in, .events = POLLOUT};
  IO.attach_at = n;
  return n + attach_pollfds(p + n, max - n);
}

int stdio_timeout(void) { return IO.busy ? IDLE_MS : -1; }

void stdio_events(const struct pollfd *p, int n) {
  /* Accept (and read) attach clients first: a client connecting in the same poll round as the
   * container's first output must get that output. */
  if (n > IO.attach_at) attach_events(p + IO.attach_at, n - IO.attach_at);
  for (int i = 0; i < IO.attach_at && i < n; i++) {
    if (!p[i].revents) continue;
    if (p[i].events & POLLOUT) {
      if (p[i].fd == IO.in) flush_input();
      continue;
    }
    for (int k = 0; k < 3; k++)
      if (p[i].fd == IO.s[k].fd) {
        pump(&IO.s[k]);
        break;
      }
  }
}

/* Quiet for a second: give back every buffer page that holds nothing pending. */
void stdio_idle(void) {
  for (int i = 0; i < 3; i++)
    if (IO.s[i].n == 0) madvise(IO.s[i].buf, LINE_CAP, MADV_DONTNEED);
  if (IO.pend_len == 0) madvise(IO.pend, IN_CAP, MADV_DONTNEED);
  log_idle();
  IO.busy = 0;
}

/*
 * The container has exited: what it wrote is in the pipes already. Read until they are
 * empty, not until EOF: a process it left behind may hold them open for ever.
 */
void stdio_drain(void) {
  if (!IO.active) return;
  for (int i = 0; i < 3; i++) {
    if (IO.s[i].fd < 0) continue;
    for (int k = 0; k < 1024 && IO.s[i].fd >= 0; k++) /* a pipe holds 64 KiB (1 MiB at most) */
      if (pump(&IO.s[i]) < 0) break;
    if (IO.s[i].fd >= 0) stream_end(&IO.s[i]);
  }
}

void stdio_exit(int code) {
  if (IO.active) attach_exit(code);
}
