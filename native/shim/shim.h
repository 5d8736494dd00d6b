/*
 * Shared state and helpers of berth-shim. The shim executes a plan computed by TypeScript
 * (native/PLAN.md) and decides nothing itself; every file here implements one concern.
 */
#ifndef BERTH_SHIM_H
#define BERTH_SHIM_H

#include "sys.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum op {
  OP_SETNS = 1,
  OP_UNSHARE = 2,
  OP_WRITE_FILE = 3,
  OP_DAEMONIZE = 4,
  OP_OPEN_FIFO = 5,
  OP_CONSOLE_SOCKET = 6,
  OP_CONSOLE_PAIR = 7,
  OP_CLONE = 8,
  OP_REPORT_PID = 9,
  OP_WRITE_CHILD_FILE = 10,
  OP_WRITE_PID_TO = 11,
  OP_SYNC = 12,
  OP_EXIT = 13,
  OP_WAIT = 14,
  OP_CHILD = 15,
  OP_SETSID = 16,
  OP_MOUNT = 17,
  OP_OPEN_ROOT = 18,
  OP_MOUNT_IN_ROOT = 19,
  OP_MKDIR_IN_ROOT = 20,
  OP_MKFILE_IN_ROOT = 21,
  OP_MKNOD_IN_ROOT = 22,
  OP_SYMLINK_IN_ROOT = 23,
  OP_CHMOD_IN_ROOT = 24,
  OP_REMOUNT = 25,
  OP_PIVOT_ROOT = 26,
  OP_CHROOT = 27,
  OP_MASK_PATH = 28,
  OP_READONLY_PATH = 29,
  OP_SETHOSTNAME = 30,
  OP_SETDOMAINNAME = 31,
  OP_SETRLIMIT = 32,
  OP_RUN_HOOK = 33,
  OP_CONSOLE = 34,
  OP_CAP_BOUNDING = 35,
  OP_KEEPCAPS = 36,
  OP_SETGROUPS = 37,
  OP_SETRESGID = 38,
  OP_SETRESUID = 39,
  OP_CAPSET = 40,
  OP_AMBIENT = 41,
  OP_NO_NEW_PRIVS = 42,
  OP_UMASK = 43,
  OP_PERSONALITY = 44,
  OP_CHDIR = 45,
  OP_CLOSE_FDS = 46,
  OP_READY = 47,
  OP_WAIT_START = 48,
  OP_SECCOMP = 49,
  OP_EXEC = 50,
  OP_LOOPBACK_UP = 51,
  OP_SET_DUMPABLE = 52,
  OP_SIGNAL_PARENT_DEATH = 53,
  OP_PRESERVE_FDS = 54,
  OP_DEVICE_FILTER = 55,
  OP_STDIO_PIPES = 56,
  OP_LOG_FILE = 57,
  OP_ATTACH_SOCKET = 58,
  OP_RELEASE_CHILD = 59,
  OP_WAIT_PARENT = 60,
  OP_UMOUNT = 61,
  OP_CLONE_INTO_CGROUP = 62,
  OP_SERVE = 63,
  OP_PREPARED = 64,
  OP_LAST = 64,
};

struct arg {
  uint32_t len;
  const unsigned char *data;
};

struct rec {
  uint32_t op;
  uint32_t nargs;
  const struct arg *args;
};

struct plan {
  struct rec *recs;
  uint32_t nrecs;
  uint32_t clone_at; /* index of the CLONE marker; nrecs in a plan without one */
  uint32_t child_at; /* index of the CHILD marker; nrecs in a plan without one */
};

/* Bytes the container process sends the shim parent on the internal channel. */
#define CHAN_GO 'G'    /* parent -> child: run the child section (RELEASE_CHILD), or the rest of it
                          (WAIT_PARENT: the parent section is done) */
#define CHAN_READY 'R' /* READY reached */
#define CHAN_EXEC 'E'  /* about to execve: EOF after this means the exec succeeded */
#define CHAN_FAIL 'X'  /* the child reported an error and exits */

enum role { ROLE_SHIM, ROLE_PARENT, ROLE_CHILD };

struct state {
  int sock; /* fd 3: plan and messages */
  enum role role;
  pid_t child;
  int chan;            /* SOCK_SEQPACKET between the shim parent and the container process */
  int root_fd;         /* OPEN_ROOT */
  int fifo_r, fifo_w;  /* OPEN_FIFO: the start fifo */
  int console;         /* where CONSOLE sends the pty master */
  int console_peer;    /* CONSOLE_PAIR: the end the monitor keeps */
  int cgroup_fd;       /* CLONE_INTO_CGROUP: the cgroup v2 directory CLONE puts the child in */
};

extern struct state S;

/* plan.c */
void plan_read(int fd, struct plan *plan);
int plan_read_next(int fd, struct plan *plan);
void plan_release(void);
const char *arg_str(const struct rec *r, uint32_t i);
uint64_t arg_u64(const struct rec *r, uint32_t i);

/* msg.c */
void msg_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_sync(const char *name);
_Noreturn void fail(int err, const char *step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
_Noreturn void fail_exit(int status, int err, const char *step, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
_Noreturn void quit(int status);
void chan_put(char c);

/* util.c */
void close_fd(int *fd);
int write_all(int fd, const void *buf, size_t len);
int write_path(const char *path, const char *data, size_t len);
pid_t clone_process(uint64_t flags);
int common_op(const struct rec *r);
struct timespec;
void rfc3339(char *out, size_t size, const struct timespec *ts, int trim);

/* seal.c */
void seal_self(char **argv, char **envp);

/* launcher.c, parent.c, monitor.c, child.c */
void launcher_op(const struct rec *r);
void parent_op(const struct rec *r);
_Noreturn void monitor_wait(const struct rec *r);
_Noreturn void child_main(const struct plan *plan);

/* mounts.c */
void op_mount(const struct rec *r);
void op_open_root(const struct rec *r);
void op_mount_in_root(const struct rec *r);
void op_mkdir_in_root(const struct rec *r);
void op_mkfile_in_root(const struct rec *r);
void op_mknod_in_root(const struct rec *r);
void op_symlink_in_root(const struct rec *r);
void op_chmod_in_root(const struct rec *r);
void op_remount(const struct rec *r);
void op_pivot_root(const struct rec *r);
void op_chroot(const struct rec *r);
void op_mask_path(const struct rec *r);
void op_readonly_path(const struct rec *r);

/* security.c */
void op_cap_bounding(const struct rec *r);
void op_setgroups(const struct rec *r);
void op_capset(const struct rec *r);
void op_ambient(const struct rec *r);
void op_seccomp(const struct rec *r);

/* devices.c */
void op_device_filter(const struct rec *r);

/* stdio.c: STDIO_PIPES, the container's stdio as the monitor sees it (streams 1 stdout, 2 stderr) */
void op_stdio_pipes(const struct rec *r);
int stdio_active(void);
void stdio_child(void);
void stdio_parent(void);
void stdio_start(void);
void stdio_master(int master);
struct pollfd;
int stdio_pollfds(struct pollfd *p, int max);
int stdio_timeout(void);
void stdio_events(const struct pollfd *p, int n);
void stdio_idle(void);
void stdio_drain(void);
void stdio_exit(int code);
char *stdio_inbuf(size_t *cap);
void stdio_input(size_t len);
int stdio_input_blocked(void);
void stdio_close_input(void);
void stdio_resize(unsigned short rows, unsigned short cols);

/* logs.c: LOG_FILE, docker's json-file format */
void op_log_file(const struct rec *r);
int log_active(void);
void log_entry(int stream, const char *data, size_t len, const struct timespec *ts);
void log_flush(void);
void log_idle(void);

/* attach.c: ATTACH_SOCKET */
void op_attach_socket(const struct rec *r);
int attach_pollfds(struct pollfd *p, int max);
void attach_events(const struct pollfd *p, int n);
void attach_broadcast(int stream, const char *data, size_t len);
void attach_exit(int code);

/* console.c */
void op_console(const struct rec *r);
int send_fd(int sock, int fd, const char *name);
int recv_fd(int sock);

/* exec.c */
_Noreturn void op_exec(const struct rec *r);
void op_run_hook(const struct rec *r);

#endif
