/*
 * LOG_FILE: the container's output as docker's json-file driver writes it, so the daemon
 * (and anything that reads docker's format) can serve `logs` from the file alone, even for
 * output written while no daemon was running. One entry per line:
 *   {"log":"<text>","stream":"stdout","time":"<RFC3339Nano>"}\n
 * escaped as docker's encoder does (\" \\ \n \r; other control characters and < > & as
 * \u00XX; invalid UTF-8 as \ufffd; U+2028/U+2029 escaped), rotated as its max-size/max-file.
 * Entries are batched in one page, written when it fills and after each read of output. A
 * failed write loses what it held, never the monitor: the file is a record, not a channel.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OUT_CAP 4096

static struct {
  int fd;
  int dir;        /* the log's directory: rotation renames within it, wherever it is reached from */
  char name[256]; /* the log's name in it */
  uint64_t max_size, max_files, size;
  char *out; /* encoded bytes not written yet */
  size_t on;
  int used;
} LG = {.fd = -1, .dir = -1};

static void reopen(int truncate) {
  LG.fd = openat(LG.dir, LG.name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0640);
  struct stat st;
  LG.size = LG.fd >= 0 && fstat(LG.fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

void op_log_file(const struct rec *r) {
  char *path = (char *)arg_str(r, 0); /* the plan's own pages: writable, released later */
  char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  if (LG.out) fail(0, "plan", "LOG_FILE twice");
  if (!*name || strlen(name) >= sizeof LG.name) fail(*name ? ENAMETOOLONG : EINVAL, "open", "%s", path);
  strcpy(LG.name, name);
  /* the directory by fd, not the whole path by copy: no page of state for a long path */
  if (slash) *slash = 0;
  LG.dir = open(!slash ? "." : slash == path ? "/" : path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (slash) *slash = '/';
  if (LG.dir < 0) fail(errno, "open", "directory of %s", path);
  /* a mapping of its own, so that idling can give the page back */
  LG.out = mmap(NULL, OUT_CAP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (LG.out == MAP_FAILED) fail(errno, "mmap", "log buffer");
  LG.max_size = arg_u64(r, 1);
  LG.max_files = arg_u64(r, 2) ? arg_u64(r, 2) : 1;
  if (LG.max_files > 1000) fail(EINVAL, "log", "%llu files", (unsigned long long)LG.max_files);
  reopen(0);
  if (LG.fd < 0) fail(errno, "open", "%s", path);
}

int log_active(void) { return LG.out != NULL; }

/*
 * docker's rotation: path.N-1 → path.N … path → path.1 and a new path, so at most
 * max_files files exist; with one file it is truncated instead.
 */
static void rotate(void) {
  char from[sizeof LG.name + 24], to[sizeof LG.name + 24];
  close_fd(&LG.fd);
  if (LG.max_files <= 1) {
    reopen(1);
    return;
  }
  for (uint64_t i = LG.max_files - 1; i > 1; i--) {
    snprintf(from, sizeof from, "%s.%llu", LG.name, (unsigned long long)(i - 1));
    snprintf(to, sizeof to, "%s.%llu", LG.name, (unsigned long long)i);
    renameat(LG.dir, from, LG.dir, to); /* ENOENT until there are that many */
  }
  snprintf(to, sizeof to, "%s.1", LG.name);
  renameat(LG.dir, LG.name, LG.dir, to);
  reopen(1);
}

static void flush_out(void) {
  if (LG.on && LG.fd >= 0) (void)write_all(LG.fd, LG.out, LG.on);
  LG.on = 0;
}

static void put(const char *s, size_t n) {
  while (n > 0) {
    size_t k = OUT_CAP - LG.on < n ? OUT_CAP - LG.on : n;
    memcpy(LG.out + LG.on, s, k);
    LG.on += k;
    s += k;
    n -= k;
    if (LG.on == OUT_CAP) flush_out();
  }
}

/* Length of the UTF-8 sequence at s (Go's utf8.DecodeRune rules); 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t avail) {
  unsigned char b = s[0], lo = 0x80, hi = 0xbf;
  size_t need;
  if (b >= 0xc2 && b <= 0xdf) need = 2;
  else if (b >= 0xe0 && b <= 0xef) need = 3, lo = b == 0xe0 ? 0xa0 : 0x80, hi = b == 0xed ? 0x9f : 0xbf;
  else if (b >= 0xf0 && b <= 0xf4) need = 4, lo = b == 0xf0 ? 0x90 : 0x80, hi = b == 0xf4 ? 0x8f : 0xbf;
  else return 0;
  if (avail < need || s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < need; i++)
    if (s[i] < 0x80 || s[i] > 0xbf) return 0;
  return need;
}

/* Escapes s as docker's json-file does; returns the encoded length, and emits it when asked. */
static size_t escape(const unsigned char *s, size_t len, int emit) {
  static const char hex[] = "0123456789abcdef";
  size_t total = 0, start = 0, i = 0;
  char esc[8];
  while (i < len) {
    unsigned char b = s[i];
    size_t n = 1, elen = 0;
    if (b < 0x80) {
      if (b >= 0x20 && b != '\\' && b != '"' && b != '<' && b != '>' && b != '&') {
        i++;
        continue;
      }
      esc[0] = '\\';
      if (b == '\\' || b == '"') esc[1] = (char)b, elen = 2;
      else if (b == '\n') esc[1] = 'n', elen = 2;
      else if (b == '\r') esc[1] = 'r', elen = 2;
      else memcpy(esc + 1, "u00", 3), esc[4] = hex[b >> 4], esc[5] = hex[b & 15], elen = 6;
    } else {
      n = utf8_len(s + i, len - i);
      if (n == 3 && b == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
        memcpy(esc, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6), elen = 6;
      else if (n == 0)
        memcpy(esc, "\\ufffd", 6), elen = 6, n = 1;
      else {
        i += n;
        continue;
      }
    }
    total += (i - start) + elen;
    if (emit) {
      put((const char *)s + start, i - start);
      put(esc, elen);
    }
    i += n;
    start = i;
  }
  total += i - start;
  if (emit) put((const char *)s + start, i - start);
  return total;
}

/* All entries of one read share their time: format it once. */
static const char *entry_time(const struct timespec *ts, size_t *len) {
  static struct timespec last = {-1, 0};
  static char when[48];
  static size_t when_len;
  if (ts->tv_sec != last.tv_sec || ts->tv_nsec != last.tv_nsec) {
    rfc3339(when, sizeof when, ts, 1);
    when_len = strlen(when);
    last = *ts;
  }
  *len = when_len;
  return when;
}

/* Entries collect in the output page, written when it fills, before a rotation and by log_flush(). */
void log_entry(int stream, const char *data, size_t len, const struct timespec *ts) {
  static const char head[] = "{\"log\":\"", mid[] = "\",\"stream\":\"", tim[] = "\",\"time\":\"", tail[] = "\"}\n";
  const char *name = stream == 2 ? "stderr" : "stdout";
  size_t when_len;
  const char *when = entry_time(ts, &when_len);
  size_t total = sizeof head - 1 + escape((const unsigned char *)data, len, 0) + sizeof mid - 1 + 6 + sizeof tim - 1 +
                 when_len + sizeof tail - 1;
  /* a new file rather than one beyond max_size (docker lets one entry overflow it instead) */
  if (LG.max_size && LG.size > 0 && LG.size + total > LG.max_size) {
    flush_out();
    rotate();
  }
  if (LG.fd < 0) reopen(0); /* a failed rotation or open: try again for every entry */
  LG.used = 1;
  put(head, sizeof head - 1);
  escape((const unsigned char *)data, len, 1);
  put(mid, sizeof mid - 1);
  put(name, 6);
  put(tim, sizeof tim - 1);
  put(when, when_len);
  put(tail, sizeof tail - 1);
  LG.size += total;
}

void log_flush(void) { flush_out(); }

void log_idle(void) {
  if (LG.used) madvise(LG.out, OUT_CAP, MADV_DONTNEED);
  LG.used = 0;
}
