/*
 * seccomp-exec: runs a program under a seccomp filter built the way
 * systemd builds one from a unit's options, so that a test can run a
 * daemon as its unit would (tpm2d-unit.sh):
 *
 *   seccomp-exec ALLOWLIST [--af-unix] [--mdwe] [--no-suid] -- PROG ARG...
 *
 * ALLOWLIST is a file of system call names, one a line (SystemCallFilter=
 * expanded by the caller); every other call fails with EPERM
 * (SystemCallErrorNumber=EPERM).  --af-unix allows socket(2) and
 * socketpair(2) for AF_UNIX only (RestrictAddressFamilies=AF_UNIX),
 * --mdwe refuses memory both writable and executable
 * (MemoryDenyWriteExecute=yes), --no-suid refuses setting the set-user-ID
 * and set-group-ID bits (RestrictSUIDSGID=yes).  Sets no_new_privs first,
 * as systemd does.  Names this architecture does not know are skipped.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

static void
usage(void)
{
	fprintf(stderr, "usage: seccomp-exec ALLOWLIST [--af-unix] [--mdwe] "
	    "[--no-suid] -- PROG ARG...\n");
	exit(2);
}

/* Says whether name is one of the calls an option restricts by argument. */
static int
restricted(const char *name, int af_unix, int mdwe, int no_suid)
{
	if (af_unix && (strcmp(name, "socket") == 0 ||
	    strcmp(name, "socketpair") == 0))
		return 1;
	if (mdwe && (strcmp(name, "mmap") == 0 ||
	    strcmp(name, "mprotect") == 0 ||
	    strcmp(name, "pkey_mprotect") == 0))
		return 1;
	if (no_suid && (strcmp(name, "chmod") == 0 ||
	    strcmp(name, "fchmod") == 0 || strcmp(name, "fchmodat") == 0))
		return 1;
	return 0;
}

/* Allows call nr when argument arg, masked with mask, is 0. */
static void
allow_masked_zero(scmp_filter_ctx ctx, int nr, unsigned int arg,
    unsigned long mask)
{
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
	    SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, mask, 0)) != 0) {
		fprintf(stderr, "seccomp-exec: rule for %d failed\n", nr);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	scmp_filter_ctx ctx;
	char line[128], *nl;
	FILE *f;
	int i, nr, af_unix = 0, mdwe = 0, no_suid = 0, n = 0;

	if (argc < 4)
		usage();
	for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--af-unix") == 0)
			af_unix = 1;
		else if (strcmp(argv[i], "--mdwe") == 0)
			mdwe = 1;
		else if (strcmp(argv[i], "--no-suid") == 0)
			no_suid = 1;
		else
			usage();
	}
	if (i + 1 >= argc)
		usage();
	if ((f = fopen(argv[1], "r")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL) {
		fprintf(stderr, "seccomp-exec: seccomp_init failed\n");
		return 1;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		nr = seccomp_syscall_resolve_name(line);
		if (nr == __NR_SCMP_ERROR || nr < 0)
			continue;
		if (restricted(line, af_unix, mdwe, no_suid))
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0) {
			fprintf(stderr, "seccomp-exec: cannot allow %s\n",
			    line);
			return 1;
		}
		n++;
	}
	fclose(f);
	if (af_unix) {
		nr = seccomp_syscall_resolve_name("socket");
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_UNIX)) != 0)
			return 1;
		nr = seccomp_syscall_resolve_name("socketpair");
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_UNIX)) != 0)
			return 1;
	}
	if (mdwe) {
		/* writable or executable, never both */
		nr = seccomp_syscall_resolve_name("mmap");
		allow_masked_zero(ctx, nr, 2, PROT_EXEC);
		allow_masked_zero(ctx, nr, 2, PROT_WRITE);
		nr = seccomp_syscall_resolve_name("mprotect");
		allow_masked_zero(ctx, nr, 2, PROT_EXEC);
		nr = seccomp_syscall_resolve_name("pkey_mprotect");
		allow_masked_zero(ctx, nr, 2, PROT_EXEC);
	}
	if (no_suid) {
		nr = seccomp_syscall_resolve_name("chmod");
		allow_masked_zero(ctx, nr, 1, S_ISUID | S_ISGID);
		nr = seccomp_syscall_resolve_name("fchmod");
		allow_masked_zero(ctx, nr, 1, S_ISUID | S_ISGID);
		nr = seccomp_syscall_resolve_name("fchmodat");
		allow_masked_zero(ctx, nr, 2, S_ISUID | S_ISGID);
	}
	if (n == 0) {
		fprintf(stderr, "seccomp-exec: %s allows no call\n", argv[1]);
		return 1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		perror("seccomp-exec: no_new_privs");
		return 1;
	}
	if (seccomp_load(ctx) != 0) {
		fprintf(stderr, "seccomp-exec: seccomp_load failed\n");
		return 1;
	}
	seccomp_release(ctx);
	execv(argv[i + 1], argv + i + 1);
	perror(argv[i + 1]);
	return 127;
}
