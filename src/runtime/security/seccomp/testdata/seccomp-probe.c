/*
 * Test probe for compile.kernel.test.ts: loads the BPF program in argv[1] with the flags in
 * argv[2] (as berth-shim does), then makes a few syscalls and prints "<probe> <ret> <errno>"
 * for each, so the test can compare the kernel's verdicts with the interpreter's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *name, long ret) {
	printf("%s %ld %d\n", name, ret, ret < 0 ? errno : 0);
	fflush(stdout);
}

int main(int argc, char **argv) {
	static unsigned char buf[4096 * 8];
	if (argc != 3) return 2;
	FILE *f = fopen(argv[1], "rb");
	if (!f) return 3;
	size_t len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	struct sock_fprog prog = { .len = (unsigned short)(len / 8), .filter = (struct sock_filter *)buf };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { perror("no_new_privs"); return 4; }
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, strtoul(argv[2], NULL, 0), &prog) != 0) {
		perror("seccomp");
		return 5;
	}
	errno = 0;
	report("getpid", syscall(SYS_getpid) > 0 ? 0 : -1);
	report("getppid", syscall(SYS_getppid) > 0 ? 0 : -1);
	report("lseek_small", syscall(SYS_lseek, -1, 5L, SEEK_SET));
	report("lseek_high", syscall(SYS_lseek, -1, 0x100000000L, SEEK_SET));
	report("dup3_cloexec", syscall(SYS_dup3, -1, -1, O_CLOEXEC));
	report("dup3_plain", syscall(SYS_dup3, -1, -1, 0));
	report("future", syscall(1000));
	return 0;
}
