/*
 * DEVICE_FILTER: the cgroup v2 device controller is a BPF_PROG_TYPE_CGROUP_DEVICE program
 * attached to the cgroup, and Node cannot call bpf(2). TypeScript compiles the program
 * (src/cgroups/v2/devices-bpf.ts); the shim loads it and swaps it in for whatever the
 * cgroup had: attach first (BPF_F_ALLOW_MULTI), detach the old ones after, so the cgroup
 * is never without a filter. With two attached, a request must pass both: the window is
 * only ever stricter, never open.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define VERIFIER_LOG_SIZE (64u << 10)

static long sys_bpf(int cmd, union shim_bpf_attr *attr) {
  return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

/*
 * The line of the verifier log that says what is wrong: the last one before the summary
 * ("processed N insns ..."); the lines above it trace the instructions that led there.
 */
static const char *verifier_reason(char *log) {
  char *reason = NULL;
  for (char *line = log; *line;) {
    char *end = strchr(line, '\n');
    if (end) *end = 0;
    if (*line && strncmp(line, "processed ", 10) != 0 && strncmp(line, "verification time", 17) != 0) reason = line;
    if (!end) break;
    line = end + 1;
  }
  return reason;
}

static int prog_load(const struct rec *r, uint32_t log_level, char *log) {
  union shim_bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.load.prog_type = SHIM_BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.load.insn_cnt = r->args[1].len / 8;
  attr.load.insns = (uint64_t)(uintptr_t)r->args[1].data; /* copied by the kernel: no alignment needed */
  attr.load.license = (uint64_t)(uintptr_t) "Apache-2.0"; /* the program calls no GPL-only helper */
  attr.load.kern_version = 0;
  if (log) {
    attr.load.log_level = log_level;
    attr.load.log_size = VERIFIER_LOG_SIZE;
    attr.load.log_buf = (uint64_t)(uintptr_t)log;
  }
  memcpy(attr.load.prog_name, "berth_devices", sizeof "berth_devices");
  return (int)sys_bpf(SHIM_BPF_PROG_LOAD, &attr);
}

/* Loads without a log first (the common case costs nothing); on failure loads again to get one. */
static int load_program(const struct rec *r, const char *dir) {
  uint32_t insns = r->args[1].len / 8;
  int prog = prog_load(r, 0, NULL);
  if (prog >= 0) return prog;
  int err = errno;
  /* mapped, not malloc'ed: the monitor's heap stays as small as it was (native/README.md) */
  char *log = mmap(NULL, VERIFIER_LOG_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (log == MAP_FAILED) fail(err, "bpf_prog_load", "device filter for %s (%u insns)", dir, insns);
  prog = prog_load(r, 1, log);
  if (prog >= 0) {
    munmap(log, VERIFIER_LOG_SIZE);
    return prog;
  }
  err = errno;
  log[VERIFIER_LOG_SIZE - 1] = 0;
  const char *reason = verifier_reason(log);
  if (reason) fail(err, "bpf_prog_load", "device filter for %s (%u insns), verifier: %s", dir, insns, reason);
  fail(err, "bpf_prog_load", "device filter for %s (%u insns)", dir, insns);
}

/* Ids of the device programs attached to the cgroup itself (not those inherited from above). */
static uint32_t query_attached(int cgroup, const char *dir, uint32_t *ids) {
  union shim_bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.query.target_fd = (uint32_t)cgroup;
  attr.query.attach_type = SHIM_BPF_CGROUP_DEVICE;
  attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
  attr.query.prog_cnt = SHIM_BPF_MAX_CGROUP_PROGS;
  if (sys_bpf(SHIM_BPF_PROG_QUERY, &attr) < 0) fail(errno, "bpf_prog_query", "device programs of %s", dir);
  return attr.query.prog_cnt;
}

static int prog_attach(int cmd, int cgroup, int prog, uint32_t flags) {
  union shim_bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attach.target_fd = (uint32_t)cgroup;
  attr.attach.attach_bpf_fd = (uint32_t)prog;
  attr.attach.attach_type = SHIM_BPF_CGROUP_DEVICE;
  attr.attach.attach_flags = flags;
  return (int)sys_bpf(cmd, &attr);
}

void op_device_filter(const struct rec *r) {
  const char *dir = arg_str(r, 0);
  uint32_t old[SHIM_BPF_MAX_CGROUP_PROGS];
  int cgroup = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (cgroup < 0) fail(errno, "open", "%s", dir);
  int prog = load_program(r, dir);
  uint32_t nold = query_attached(cgroup, dir, old);

  if (prog_attach(SHIM_BPF_PROG_ATTACH, cgroup, prog, SHIM_BPF_F_ALLOW_MULTI) < 0)
    fail(errno, "bpf_prog_attach", "device filter to %s", dir);
  close(prog);

  for (uint32_t i = 0; i < nold; i++) {
    union shim_bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.get_id.prog_id = old[i];
    int fd = (int)sys_bpf(SHIM_BPF_PROG_GET_FD_BY_ID, &attr);
    if (fd < 0 && errno == ENOENT) continue; /* gone meanwhile (a concurrent update) */
    if (fd < 0) fail(errno, "bpf_prog_get_fd_by_id", "old device filter %u of %s", old[i], dir);
    if (prog_attach(SHIM_BPF_PROG_DETACH, cgroup, fd, 0) < 0 && errno != ENOENT)
      fail(errno, "bpf_prog_detach", "old device filter %u from %s", old[i], dir);
    close(fd);
  }
  close(cgroup);
}
