/*
 * Privilege ops: bounding set, groups, capability sets, ambient set and the seccomp
 * filter. The masks and the BPF program come ready-made from TypeScript.
 */
#include "shim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

/* Drops every capability the kernel knows (PR_CAPBSET_READ fails past CAP_LAST_CAP). */
void op_cap_bounding(const struct rec *r) {
  uint64_t keep = arg_u64(r, 0);
  for (int cap = 0; cap < 64; cap++) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break;
    if (keep & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) fail(errno, "capbset_drop", "cap %d", cap);
  }
}

void op_setgroups(const struct rec *r) {
  gid_t *gids = calloc(r->nargs ? r->nargs : 1, sizeof *gids);
  if (gids == NULL) fail(ENOMEM, "setgroups", "allocate");
  for (uint32_t i = 0; i < r->nargs; i++) {
    const char *s = arg_str(r, i), *p = s;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9' && v <= 0xffffffffULL) v = v * 10 + (uint64_t)(*p++ - '0');
    if (*p || p == s || v > 0xffffffffULL) fail(EINVAL, "setgroups", "gid %s", s);
    gids[i] = (gid_t)v;
  }
  if (syscall(SYS_setgroups, (size_t)r->nargs, gids) < 0) fail(errno, "setgroups", "%u groups", r->nargs);
  free(gids);
}

void op_capset(const struct rec *r) {
  struct shim_cap_header head = {.version = SHIM_CAP_V3, .pid = 0};
  struct shim_cap_data data[2];
  uint64_t eff = arg_u64(r, 0), perm = arg_u64(r, 1), inh = arg_u64(r, 2);
  for (int i = 0; i < 2; i++) {
    data[i].effective = (uint32_t)(eff >> (32 * i));
    data[i].permitted = (uint32_t)(perm >> (32 * i));
    data[i].inheritable = (uint32_t)(inh >> (32 * i));
  }
  if (syscall(SYS_capset, &head, data) < 0)
    fail(errno, "capset", "effective 0x%llx permitted 0x%llx inheritable 0x%llx", (unsigned long long)eff,
         (unsigned long long)perm, (unsigned long long)inh);
}

void op_ambient(const struct rec *r) {
  uint64_t mask = arg_u64(r, 0);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) fail(errno, "ambient", "clear");
  for (int cap = 0; cap < 64; cap++)
    if ((mask & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      fail(errno, "ambient", "raise cap %d", cap);
}

void op_seccomp(const struct rec *r) {
  uint32_t len = r->args[1].len;
  /* copy: the plan buffer gives no alignment guarantee for struct sock_filter */
  void *filter = malloc(len);
  if (filter == NULL) fail(ENOMEM, "seccomp", "allocate");
  memcpy(filter, r->args[1].data, len);
  struct shim_sock_fprog prog = {.len = (unsigned short)(len / 8), .filter = filter};
  if (syscall(SYS_seccomp, SHIM_SECCOMP_SET_MODE_FILTER, (unsigned)arg_u64(r, 0), &prog) < 0)
    fail(errno, "seccomp", "%u instructions", len / 8);
  free(filter);
}
