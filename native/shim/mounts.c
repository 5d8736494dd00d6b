/*
 * Mount ops. In-root paths are resolved beneath the rootfs directory fd with openat2
 * (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so a symlink in the image can never send a
 * mount, a device node or a link to the host; we then mount onto /proc/self/fd/<n>, the
 * object we resolved, instead of a path the container could swap underneath us.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

struct fdpath {
  char s[32];
};

static struct fdpath fd_path(int fd) {
  struct fdpath p;
  snprintf(p.s, sizeof p.s, "/proc/self/fd/%d", fd);
  return p;
}

static const char *or_null(const char *s) { return s[0] ? s : NULL; }
static const char *shown(const char *s) { return s[0] ? s : "none"; }

static void need_root(const char *path) {
  if (S.root_fd < 0) fail(EBADF, "resolve", "%s: no OPEN_ROOT before an in-root op", path);
}

static int in_root(const char *path, uint64_t flags) {
  struct shim_open_how how = {
      .flags = flags | O_CLOEXEC,
      .mode = 0,
      .resolve = SHIM_RESOLVE_IN_ROOT | SHIM_RESOLVE_NO_MAGICLINKS,
  };
  return (int)syscall(SYS_openat2, S.root_fd, path, &how, sizeof how);
}

static int resolve(const char *path) {
  need_root(path);
  int fd = in_root(path, O_PATH);
  if (fd < 0) fail(errno, "resolve", "%s in rootfs", path);
  return fd;
}

/* mkdir -p beneath the root: every component is resolved in-root before the next one. */
static int mkdir_p(const char *path, mode_t mode) {
  char prefix[PATH_MAX], name[NAME_MAX + 1];
  size_t plen = 0;
  int dir = in_root("/", O_PATH | O_DIRECTORY), err = 0;
  if (dir < 0) return -1;
  for (const char *p = path; *p;) {
    while (*p == '/') p++;
    if (!*p) break;
    size_t clen = strcspn(p, "/");
    if (clen > NAME_MAX || plen + clen + 2 > sizeof prefix) {
      err = ENAMETOOLONG;
      break;
    }
    memcpy(name, p, clen);
    name[clen] = 0;
    prefix[plen++] = '/';
    memcpy(prefix + plen, p, clen + 1);
    plen += clen;
    prefix[plen] = 0;
    p += clen;
    int fd = in_root(prefix, O_PATH | O_DIRECTORY);
    if (fd < 0 && errno == ENOENT) {
      if (mkdirat(dir, name, mode) < 0 && errno != EEXIST) {
        err = errno;
        break;
      }
      fd = in_root(prefix, O_PATH | O_DIRECTORY);
    }
    if (fd < 0) {
      err = errno;
      break;
    }
    close(dir);
    dir = fd;
  }
  if (err) {
    close(dir);
    errno = err;
    return -1;
  }
  return dir;
}

/* The directory holding `path` (created as with MKDIR_IN_ROOT 0755) and its last component. */
static int parent_dir(const char *path, const char **base) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  *base = slash ? slash + 1 : path;
  if (!**base || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0) fail(EINVAL, "resolve", "%s in rootfs", path);
  size_t len = slash ? (size_t)(slash - path) : 0;
  if (len >= sizeof dir) fail(ENAMETOOLONG, "resolve", "%s in rootfs", path);
  memcpy(dir, path, len);
  dir[len] = 0;
  need_root(path);
  int fd = mkdir_p(dir, 0755);
  if (fd < 0) fail(errno, "mkdir", "%s", len ? dir : "/");
  return fd;
}

void op_mount(const struct rec *r) {
  const char *src = arg_str(r, 0), *target = arg_str(r, 1), *type = arg_str(r, 2);
  if (mount(or_null(src), target, or_null(type), (unsigned long)arg_u64(r, 3), or_null(arg_str(r, 4))) < 0)
    fail(errno, "mount", "%s on %s", shown(src), target);
}

void op_open_root(const struct rec *r) {
  const char *path = arg_str(r, 0);
  close_fd(&S.root_fd);
  S.root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (S.root_fd < 0) fail(errno, "open", "%s", path);
}

void op_mount_in_root(const struct rec *r) {
  const char *src = arg_str(r, 0), *target = arg_str(r, 1), *type = arg_str(r, 2);
  int fd = resolve(target);
  if (mount(or_null(src), fd_path(fd).s, or_null(type), (unsigned long)arg_u64(r, 3), or_null(arg_str(r, 4))) < 0)
    fail(errno, "mount", "%s on %s", shown(src), target);
  close(fd);
}

void op_mkdir_in_root(const struct rec *r) {
  const char *path = arg_str(r, 0);
  need_root(path);
  int fd = mkdir_p(path, (mode_t)arg_u64(r, 1));
  if (fd < 0) fail(errno, "mkdir", "%s", path);
  close(fd);
}

void op_mkfile_in_root(const struct rec *r) {
  const char *path = arg_str(r, 0), *base;
  int dir = parent_dir(path, &base);
  int fd = openat(dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)arg_u64(r, 1));
  if (fd < 0 && errno != EEXIST) fail(errno, "mkfile", "%s", path);
  if (fd >= 0) close(fd);
  close(dir);
}

void op_mknod_in_root(const struct rec *r) {
  const char *path = arg_str(r, 0), *base;
  int dir = parent_dir(path, &base);
  if (unlinkat(dir, base, 0) < 0 && errno != ENOENT) fail(errno, "unlink", "%s", path);
  if (mknodat(dir, base, (mode_t)arg_u64(r, 1), (dev_t)arg_u64(r, 2)) < 0) fail(errno, "mknod", "%s", path);
  if (fchownat(dir, base, (uid_t)arg_u64(r, 3), (gid_t)arg_u64(r, 4), AT_SYMLINK_NOFOLLOW) < 0)
    fail(errno, "chown", "%s", path);
  close(dir);
}

void op_symlink_in_root(const struct rec *r) {
  const char *target = arg_str(r, 0), *link = arg_str(r, 1), *base;
  int dir = parent_dir(link, &base);
  if (symlinkat(target, dir, base) < 0 && errno != EEXIST) fail(errno, "symlink", "%s -> %s", link, target);
  close(dir);
}

void op_chmod_in_root(const struct rec *r) {
  const char *path = arg_str(r, 0);
  int fd = resolve(path);
  if (chmod(fd_path(fd).s, (mode_t)arg_u64(r, 1)) < 0) fail(errno, "chmod", "%s", path);
  close(fd);
}

/*
 * In a user namespace the kernel refuses a remount that would clear nosuid, nodev,
 * noexec or the atime mode it locked on the mount: keep what is set (statvfs says).
 */
static unsigned long locked_flags(const char *target, const char *shown_path, unsigned long flags) {
  struct statvfs v;
  unsigned long add = 0;
  if (statvfs(target, &v) < 0) fail(errno, "statvfs", "%s", shown_path);
  if (v.f_flag & ST_NOSUID) add |= MS_NOSUID;
  if (v.f_flag & ST_NODEV) add |= MS_NODEV;
  if (v.f_flag & ST_NOEXEC) add |= MS_NOEXEC;
  if (!(flags & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME))) {
    if (v.f_flag & ST_NOATIME) add |= MS_NOATIME;
    if (v.f_flag & ST_NODIRATIME) add |= MS_NODIRATIME;
    if (v.f_flag & ST_RELATIME) add |= MS_RELATIME;
  }
  return add;
}

static void remount(const char *target, const char *shown_path, unsigned long flags) {
  flags |= locked_flags(target, shown_path, flags);
  if (mount(NULL, target, NULL, MS_REMOUNT | flags, NULL) < 0) fail(errno, "remount", "%s", shown_path);
}

void op_remount(const struct rec *r) {
  const char *path = arg_str(r, 0);
  unsigned long flags = (unsigned long)arg_u64(r, 1);
  if (S.root_fd < 0) {
    remount(path, path, flags);
    return;
  }
  int fd = resolve(path);
  remount(fd_path(fd).s, path, flags);
  close(fd);
}

void op_pivot_root(const struct rec *r) {
  const char *rootfs = arg_str(r, 0);
  if (chdir(rootfs) < 0) fail(errno, "chdir", "%s", rootfs);
  /* pivot_root(".", ".") stacks the old root under the new one: no put_old directory needed */
  if (syscall(SYS_pivot_root, ".", ".") < 0) fail(errno, "pivot_root", "%s", rootfs);
  /* rslave first, so detaching the old root does not propagate unmounts to the host */
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) fail(errno, "mount", "old root rslave");
  if (umount2(".", MNT_DETACH) < 0) fail(errno, "umount", "old root");
  if (chdir("/") < 0) fail(errno, "chdir", "/");
  close_fd(&S.root_fd);
}

void op_chroot(const struct rec *r) {
  const char *rootfs = arg_str(r, 0);
  if (chdir(rootfs) < 0) fail(errno, "chdir", "%s", rootfs);
  if (chroot(".") < 0) fail(errno, "chroot", "%s", rootfs);
  if (chdir("/") < 0) fail(errno, "chdir", "/");
  close_fd(&S.root_fd);
}

/*
 * The first masked directory gets an empty read-only tmpfs; the next ones are bind mounts of it
 * (a bind keeps the read-only flag). Each tmpfs would cost the kernel a superblock and a shrinker
 * id, which every memory cgroup on the host then carries a slot for; the bind costs one mount.
 * Held by an O_CLOEXEC fd, so a later mask over its path does not change what is bound.
 */
static int empty_mask_fd = -1;

static int mask_dir(const char *path) {
  if (empty_mask_fd >= 0 && mount(fd_path(empty_mask_fd).s, path, NULL, MS_BIND, NULL) == 0) return 0;
  if (mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0) return -1;
  close_fd(&empty_mask_fd);
  empty_mask_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return 0;
}

void op_mask_path(const struct rec *r) {
  const char *path = arg_str(r, 0);
  struct stat st;
  if (stat(path, &st) < 0) {
    if (errno == ENOENT) return;
    fail(errno, "stat", "%s", path);
  }
  int rc = S_ISDIR(st.st_mode) ? mask_dir(path) : mount("/dev/null", path, NULL, MS_BIND, NULL);
  if (rc < 0) fail(errno, "mask", "%s", path);
}

void op_readonly_path(const struct rec *r) {
  const char *path = arg_str(r, 0);
  struct shim_mount_attr attr = {.attr_set = SHIM_MOUNT_ATTR_RDONLY};
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
    if (errno == ENOENT) return;
    fail(errno, "mount", "%s on %s", path, path);
  }
  /* mount_setattr reaches every submount and keeps locked flags by itself */
  if (syscall(SYS_mount_setattr, AT_FDCWD, path, SHIM_AT_RECURSIVE, &attr, sizeof attr) == 0) return;
  if (errno != ENOSYS) fail(errno, "readonly", "%s", path);
  remount(path, path, MS_BIND | MS_RDONLY);
}
