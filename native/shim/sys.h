/*
 * Kernel interfaces the shim needs that neither musl nor glibc wraps (or wraps with
 * process-wide machinery we must avoid after a raw clone). Own names (shim_*) so the
 * same sources build against either libc without pulling in <linux/...> headers.
 */
#ifndef BERTH_SYS_H
#define BERTH_SYS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_bpf
#define SYS_bpf 321 /* x86_64 */
#endif

/* openat2(2) */
struct shim_open_how {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};
#define SHIM_RESOLVE_NO_MAGICLINKS 0x02
#define SHIM_RESOLVE_IN_ROOT 0x10

#define SHIM_CLONE_INTO_CGROUP 0x200000000ULL

/* clone3(2); stack 0 makes it fork-like: the child continues on a copy of our stack. */
struct shim_clone_args {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
  uint64_t cgroup;
};

/* mount_setattr(2) */
struct shim_mount_attr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};
#define SHIM_MOUNT_ATTR_RDONLY 0x1
#define SHIM_AT_RECURSIVE 0x8000

/* capget/capset(2), version 3: two 32-bit words per set. */
struct shim_cap_header {
  uint32_t version;
  int pid;
};
struct shim_cap_data {
  uint32_t effective;
  uint32_t permitted;
  uint32_t inheritable;
};
#define SHIM_CAP_V3 0x20080522

/* seccomp(2) */
struct shim_sock_fprog {
  unsigned short len;
  void *filter;
};
#define SHIM_SECCOMP_SET_MODE_FILTER 1

#define SHIM_CLOSE_RANGE_CLOEXEC (1U << 2)

/*
 * bpf(2): the members of union bpf_attr the device filter uses, laid out as in linux/bpf.h
 * (u64 members 8-aligned). `pad` makes the union larger than any member we fill, so the
 * fields of newer kernels that follow them are passed as zeros.
 */
union shim_bpf_attr {
  struct {
    uint32_t prog_type;
    uint32_t insn_cnt;
    uint64_t insns;
    uint64_t license;
    uint32_t log_level;
    uint32_t log_size;
    uint64_t log_buf;
    uint32_t kern_version;
    uint32_t prog_flags;
    char prog_name[16];
  } load;
  struct {
    uint32_t target_fd;
    uint32_t attach_bpf_fd;
    uint32_t attach_type;
    uint32_t attach_flags;
    uint32_t replace_bpf_fd;
  } attach; /* BPF_PROG_ATTACH and BPF_PROG_DETACH */
  struct {
    uint32_t target_fd;
    uint32_t attach_type;
    uint32_t query_flags;
    uint32_t attach_flags;
    uint64_t prog_ids;
    uint32_t prog_cnt;
  } query;
  struct {
    uint32_t prog_id;
    uint32_t next_id;
    uint32_t open_flags;
  } get_id; /* BPF_PROG_GET_FD_BY_ID */
  uint64_t pad[16];
};
#define SHIM_BPF_PROG_LOAD 5
#define SHIM_BPF_PROG_ATTACH 8
#define SHIM_BPF_PROG_DETACH 9
#define SHIM_BPF_PROG_GET_FD_BY_ID 13
#define SHIM_BPF_PROG_QUERY 16
#define SHIM_BPF_PROG_TYPE_CGROUP_DEVICE 15
#define SHIM_BPF_CGROUP_DEVICE 6
#define SHIM_BPF_F_ALLOW_MULTI (1U << 1)
#define SHIM_BPF_MAX_CGROUP_PROGS 64 /* BPF_CGROUP_MAX_PROGS: programs per cgroup and attach type */

#endif
