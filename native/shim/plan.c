/*
 * Plan decoding (native/PLAN.md, "Encoding" and "Sections"). Everything is validated
 * before the first step runs, so a malformed plan never half-executes: argument kinds
 * per op, NUL-terminated strings, the section each op may appear in, the two markers.
 */
#include "shim.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PLAN_MAX_BYTES (64u << 20)

#define L 1 /* launcher */
#define P 2 /* parent */
#define C 4 /* child */
#define M 8 /* marker */

struct op_spec {
  const char *args; /* s = str, u = u64, b = bytes, * = the rest are str */
  unsigned sections;
};

static const struct op_spec specs[OP_LAST + 1] = {
    [OP_SETNS] = {"su", L},
    [OP_UNSHARE] = {"u", L | P | C},
    [OP_WRITE_FILE] = {"ss", L | P | C},
    [OP_DAEMONIZE] = {"", L},
    [OP_OPEN_FIFO] = {"s", L},
    [OP_CONSOLE_SOCKET] = {"s", L},
    [OP_CONSOLE_PAIR] = {"", L},
    [OP_CLONE] = {"u", M},
    [OP_REPORT_PID] = {"", P},
    [OP_WRITE_CHILD_FILE] = {"ss", P},
    [OP_WRITE_PID_TO] = {"s", P},
    [OP_SYNC] = {"s", L | P | C},
    [OP_EXIT] = {"", P},
    [OP_WAIT] = {"su", P},
    [OP_CHILD] = {"", M},
    [OP_SETSID] = {"", C},
    [OP_MOUNT] = {"sssus", L | C},
    [OP_OPEN_ROOT] = {"s", C},
    [OP_MOUNT_IN_ROOT] = {"sssus", C},
    [OP_MKDIR_IN_ROOT] = {"su", C},
    [OP_MKFILE_IN_ROOT] = {"su", C},
    [OP_MKNOD_IN_ROOT] = {"suuuu", C},
    [OP_SYMLINK_IN_ROOT] = {"ss", C},
    [OP_CHMOD_IN_ROOT] = {"su", C},
    [OP_REMOUNT] = {"su", C},
    [OP_PIVOT_ROOT] = {"s", C},
    [OP_CHROOT] = {"s", C},
    [OP_MASK_PATH] = {"s", C},
    [OP_READONLY_PATH] = {"s", C},
    [OP_SETHOSTNAME] = {"s", C},
    [OP_SETDOMAINNAME] = {"s", C},
    [OP_SETRLIMIT] = {"uuu", C},
    [OP_RUN_HOOK] = {"ussu*", C},
    [OP_CONSOLE] = {"uus", C},
    [OP_CAP_BOUNDING] = {"u", C},
    [OP_KEEPCAPS] = {"u", C},
    [OP_SETGROUPS] = {"*", C},
    [OP_SETRESGID] = {"u", C},
    [OP_SETRESUID] = {"u", C},
    [OP_CAPSET] = {"uuu", C},
    [OP_AMBIENT] = {"u", C},
    [OP_NO_NEW_PRIVS] = {"", C},
    [OP_UMASK] = {"u", C},
    [OP_PERSONALITY] = {"u", C},
    [OP_CHDIR] = {"s", L | C},
    [OP_CLOSE_FDS] = {"u", C},
    [OP_READY] = {"", C},
    [OP_WAIT_START] = {"", C},
    [OP_SECCOMP] = {"ub", C},
    [OP_EXEC] = {"su*", C},
    [OP_LOOPBACK_UP] = {"", L | C},
    [OP_SET_DUMPABLE] = {"u", L | P | C},
    [OP_SIGNAL_PARENT_DEATH] = {"u", C},
    [OP_PRESERVE_FDS] = {"u", C},
    [OP_DEVICE_FILTER] = {"sb", L},
    [OP_STDIO_PIPES] = {"u", L},
    [OP_LOG_FILE] = {"suu", L},
    [OP_ATTACH_SOCKET] = {"s", L},
    [OP_RELEASE_CHILD] = {"", P},
    [OP_WAIT_PARENT] = {"", C},
    [OP_UMOUNT] = {"su", L},
    [OP_CLONE_INTO_CGROUP] = {"s", L},
    [OP_SERVE] = {"", L},
    [OP_PREPARED] = {"", L},
};

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void read_exact(int fd, unsigned char *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = read(fd, buf + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(errno, "plan", "read");
    if (n == 0) fail(0, "plan", "truncated: %zu of %zu bytes", done, len);
    done += (size_t)n;
  }
}

static void check_arg(uint32_t i, uint32_t op, char kind, const struct arg *a) {
  if (kind == 'u' && a->len != 8) fail(0, "plan", "record %u op %u: arg %c is not 8 bytes", i, op, kind);
  if (kind == 's' || kind == '*') {
    if (a->len == 0 || a->data[a->len - 1] != 0 || memchr(a->data, 0, a->len - 1) != NULL)
      fail(0, "plan", "record %u op %u: malformed string", i, op);
  }
}

static void check_args(uint32_t i, const struct rec *r) {
  const char *kinds = specs[r->op].args;
  size_t fixed = strcspn(kinds, "*");
  int rest = kinds[fixed] == '*';
  if (r->nargs < fixed || (!rest && r->nargs != fixed))
    fail(0, "plan", "record %u op %u: %u arguments", i, r->op, r->nargs);
  for (uint32_t a = 0; a < r->nargs; a++) check_arg(i, r->op, a < fixed ? kinds[a] : '*', &r->args[a]);
  /* argc counts strings among the rest (RUN_HOOK, EXEC) */
  if (r->op == OP_RUN_HOOK || r->op == OP_EXEC) {
    uint64_t argc = arg_u64(r, (uint32_t)fixed - 1);
    if (argc < 1 || argc > r->nargs - fixed) fail(0, "plan", "record %u op %u: bad argc", i, r->op);
  }
  if (r->op == OP_SECCOMP && (r->args[1].len == 0 || r->args[1].len % 8 != 0 || r->args[1].len / 8 > 0xffff))
    fail(0, "plan", "record %u: seccomp program of %u bytes", i, r->args[1].len);
  if (r->op == OP_DEVICE_FILTER && (r->args[1].len == 0 || r->args[1].len % 8 != 0))
    fail(0, "plan", "record %u: device filter program of %u bytes", i, r->args[1].len);
}

/* The monitor owns the pipes: without WAIT nobody would read them. Sinks need the pipes first. */
static void check_stdio(const struct plan *plan) {
  int pipes = 0, wait = 0;
  for (uint32_t i = 0; i < plan->nrecs; i++) wait |= plan->recs[i].op == OP_WAIT;
  for (uint32_t i = 0; i < plan->nrecs; i++) {
    uint32_t op = plan->recs[i].op;
    if ((op == OP_STDIO_PIPES || op == OP_LOG_FILE || op == OP_ATTACH_SOCKET) && !wait)
      fail(0, "plan", "record %u: op %u needs WAIT", i, op);
    if ((op == OP_LOG_FILE || op == OP_ATTACH_SOCKET) && !pipes)
      fail(0, "plan", "record %u: op %u needs STDIO_PIPES before it", i, op);
    pipes |= op == OP_STDIO_PIPES;
  }
}

static void check_sections(struct plan *plan) {
  int clones = 0, childs = 0;
  for (uint32_t i = 0; i < plan->nrecs; i++) {
    uint32_t op = plan->recs[i].op;
    if (op == OP_CLONE) clones++, plan->clone_at = i;
    if (op == OP_CHILD) childs++, plan->child_at = i;
  }
  /* PREPARED closes a spare's first plan: launcher ops only, nothing after it */
  for (uint32_t i = 0; i < plan->nrecs; i++)
    if (plan->recs[i].op == OP_PREPARED && (i + 1 != plan->nrecs || clones || childs))
      fail(0, "plan", "PREPARED must end a plan of launcher ops");
  if (clones == 0 && childs == 0) {
    /* no container process: the plan is launcher ops only, and the shim exits 0 after them */
    plan->clone_at = plan->child_at = plan->nrecs;
    for (uint32_t i = 0; i < plan->nrecs; i++)
      if (!(specs[plan->recs[i].op].sections & L))
        fail(0, "plan", "record %u: op %u not allowed in this section", i, plan->recs[i].op);
    return;
  }
  if (clones != 1 || childs != 1 || plan->child_at < plan->clone_at)
    fail(0, "plan", "needs one CLONE followed by one CHILD marker");
  /* the child waits for one GO byte per WAIT_PARENT beyond the first: unpaired, it would hang */
  int releases = 0, waits = 0;
  for (uint32_t i = 0; i < plan->nrecs; i++) {
    releases += plan->recs[i].op == OP_RELEASE_CHILD;
    waits += plan->recs[i].op == OP_WAIT_PARENT;
  }
  if (releases > 1 || releases != waits) fail(0, "plan", "RELEASE_CHILD and WAIT_PARENT come as one pair");
  for (uint32_t i = 0; i < plan->nrecs; i++) {
    const struct rec *r = &plan->recs[i];
    unsigned want = i < plan->clone_at ? L : i == plan->clone_at || i == plan->child_at ? M : i < plan->child_at ? P : C;
    if (!(specs[r->op].sections & want)) fail(0, "plan", "record %u: op %u not allowed in this section", i, r->op);
    int ends_parent = r->op == OP_EXIT || r->op == OP_WAIT;
    if (ends_parent != (i + 1 == plan->child_at))
      fail(0, "plan", "the parent section must end with EXIT or WAIT, and only there");
    if (r->op == OP_EXEC && i + 1 != plan->nrecs) fail(0, "plan", "EXEC must be the last op");
    /* CVE-2024-21626: no container process may inherit a host working directory */
    if (r->op == OP_CHDIR && i < plan->clone_at) fail(0, "plan", "CHDIR before CLONE");
  }
}

/* The plan lives in its own mappings, so the monitor can give every page back (plan_release). */
static struct {
  void *buf, *tables;
  size_t buf_len, tables_len;
} mem;

static void *map(size_t len) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fail(errno, "plan", "map %zu bytes", len);
  return p;
}

/* Walks the records within bounds; fills the tables when given. Returns the argument count. */
static size_t walk(const unsigned char *buf, size_t size, uint32_t nrecs, struct rec *recs, struct arg *args) {
  size_t off = 0, n = 0;
  for (uint32_t i = 0; i < nrecs; i++) {
    if (size - off < 8) fail(0, "plan", "record %u truncated", i);
    uint32_t op = get_u32(buf + off), nargs = get_u32(buf + off + 4);
    off += 8;
    if (recs) recs[i] = (struct rec){op, nargs, &args[n]};
    for (uint32_t a = 0; a < nargs; a++, n++) {
      if (size - off < 4) fail(0, "plan", "record %u truncated", i);
      uint32_t len = get_u32(buf + off);
      off += 4;
      if (len > size - off) fail(0, "plan", "record %u: argument overruns the plan", i);
      if (args) args[n] = (struct arg){len, buf + off};
      off += len;
    }
  }
  if (off != size) fail(0, "plan", "%zu trailing bytes", size - off);
  return n;
}

#define PLAN_HEAD_BYTES 16

static void plan_parse(int fd, struct plan *plan, const unsigned char *head);

/* The next plan on fd; 0 at a clean EOF before its first byte (a served shim's caller is gone). */
int plan_read_next(int fd, struct plan *plan) {
  unsigned char head[PLAN_HEAD_BYTES];
  ssize_t n;
  do n = read(fd, head, 1);
  while (n < 0 && errno == EINTR);
  if (n < 0) fail(errno, "plan", "read");
  if (n == 0) return 0;
  read_exact(fd, head + 1, sizeof head - 1);
  plan_parse(fd, plan, head);
  return 1;
}

void plan_read(int fd, struct plan *plan) {
  unsigned char head[PLAN_HEAD_BYTES];
  read_exact(fd, head, sizeof head);
  plan_parse(fd, plan, head);
}

static void plan_parse(int fd, struct plan *plan, const unsigned char *head) {
  if (memcmp(head, "BRTHPLN1", 8) != 0) fail(0, "plan", "bad magic");
  uint32_t total = get_u32(head + 8), nrecs = get_u32(head + 12);
  if (total < PLAN_HEAD_BYTES || total > PLAN_MAX_BYTES) fail(0, "plan", "bad size %u", total);
  size_t size = total - PLAN_HEAD_BYTES;
  if (nrecs > size / 8) fail(0, "plan", "%u records in %zu bytes", nrecs, size); /* 8 bytes each at least */
  mem.buf_len = size ? size : 1;
  unsigned char *buf = mem.buf = map(mem.buf_len);
  read_exact(fd, buf, size);

  size_t nargs = walk(buf, size, nrecs, NULL, NULL);
  mem.tables_len = nrecs * sizeof(struct rec) + nargs * sizeof(struct arg) + 1;
  struct rec *recs = mem.tables = map(mem.tables_len);
  struct arg *args = (struct arg *)(recs + nrecs);
  walk(buf, size, nrecs, recs, args);
  for (uint32_t i = 0; i < nrecs; i++) {
    uint32_t op = recs[i].op;
    if (op == 0 || op > OP_LAST || specs[op].args == NULL) fail(0, "plan", "unknown op %u", op);
    check_args(i, &recs[i]);
  }
  plan->recs = recs;
  plan->nrecs = nrecs;
  check_sections(plan);
  check_stdio(plan);
}

void plan_release(void) {
  if (mem.buf) munmap(mem.buf, mem.buf_len);
  if (mem.tables) munmap(mem.tables, mem.tables_len);
  mem.buf = mem.tables = NULL;
}

const char *arg_str(const struct rec *r, uint32_t i) { return (const char *)r->args[i].data; }

uint64_t arg_u64(const struct rec *r, uint32_t i) {
  const unsigned char *p = r->args[i].data;
  return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}
