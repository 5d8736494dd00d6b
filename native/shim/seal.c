/*
 * CVE-2019-5736: a container process could open /proc/<shim>/exe and overwrite the host
 * binary. Either the binary lives on a read-only mount (the installed, shared copy), or
 * we re-execute ourselves from a sealed memfd, which no one can write.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static int copy_to_sealed_memfd(int exe) {
  struct stat st;
  if (fstat(exe, &st) < 0) fail(errno, "seal", "stat /proc/self/exe");
  int memfd = memfd_create("berth-shim", MFD_ALLOW_SEALING | MFD_CLOEXEC);
  if (memfd < 0) fail(errno, "seal", "memfd_create");
  for (off_t left = st.st_size; left > 0;) {
    ssize_t n = sendfile(memfd, exe, NULL, (size_t)left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(n < 0 ? errno : EIO, "seal", "copy /proc/self/exe");
    left -= n;
  }
  if (fcntl(memfd, F_ADD_SEALS, SEALS) < 0) fail(errno, "seal", "add seals");
  return memfd;
}

void seal_self(char **argv, char **envp) {
  int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (exe < 0) fail(errno, "seal", "open /proc/self/exe");
  int seals = fcntl(exe, F_GET_SEALS);
  struct statvfs vfs;
  if (seals >= 0 && (seals & SEALS) == SEALS) goto done; /* already the sealed copy */
  if (fstatvfs(exe, &vfs) < 0) fail(errno, "seal", "statvfs /proc/self/exe");
  if (vfs.f_flag & ST_RDONLY) goto done;
  int memfd = copy_to_sealed_memfd(exe);
  close(exe);
  /* fd 3 is not close-on-exec yet, so the sealed copy inherits the plan socket */
  syscall(SYS_execveat, memfd, "", argv, envp, AT_EMPTY_PATH);
  fail(errno, "seal", "execveat memfd");
done:
  close(exe);
}
