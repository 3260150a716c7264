/*
 * cml-bootpick: the A/B loader of devices whose boot loader knows no
 * slots (cml-bootpick(8), common/slot.h).  The init of a small first
 * initramfs mounts the disk that holds the boot slots and runs it; it
 * picks the slot to boot from the slots' state, loads that slot's kernel
 * and initramfs with kexec_file_load(2), writes the pick down and boots
 * the kernel with the command line and cml.boot_slot=SLOT, by which cmld
 * knows which slot to confirm.
 *
 *   cml-bootpick --slots DIR [--cmdline TEXT] [--unmount DIR] [--dry-run]
 *
 * A slot marked to be tried is booted once: its start is written down
 * before the kernel runs, so that a kernel that does not come up (a
 * panic, a hang ended by the watchdog, a reset) is never tried again.
 * The next run finds it started and not confirmed, records that as its
 * failure (cmld audits it) and boots the good slot; a tried slot whose
 * kernel cannot be loaded fails at once, the same way.
 *
 * Exit status: none on success (the kernel runs); 1 when nothing could
 * be booted (the reason on stderr), 2 usage error.
 */
#include "config.h"

#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>

#include <linux/kexec.h>
#include <linux/reboot.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "slot.h"
#include "xmalloc.h"

/* The word of the kernel's command line that names its slot. */
#define BOOTPICK_ARG "cml.boot_slot="
/* Bytes of a command line (the kernel's COMMAND_LINE_SIZE on x86). */
#define BOOTPICK_CMDLINE_MAX 2048
/* Why a tried slot found started at the next run failed. */
#define BOOTPICK_UNCONFIRMED "booted but not confirmed before the next " \
	"start: it did not come up, or the device was reset before cmld " \
	"confirmed it"

/* One run's pick, filled under the slots' lock. */
struct bootpick {
	const char *dir;
	const char *cmdline; /* without our word */
	int dry_run;
	long long now_ms;

	enum slot_id slot; /* loaded: boot it */
	int trying;
	char version[SLOT_VERSION_MAX + 1];
	struct slot_failure failed; /* recorded in this run, or slot NONE */
	char *error; /* nothing could be loaded: why */
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: cml-bootpick --slots DIR [--cmdline TEXT] "
	    "[--unmount DIR] [--dry-run]\n"
	    "  --slots DIR     the boot slots: DIR/a, DIR/b (vmlinuz, "
	    "initrd.img), DIR/state\n"
	    "  --cmdline TEXT  the kernel's command line (default: this "
	    "kernel's)\n"
	    "  --unmount DIR   unmount DIR (the slots' file system) before "
	    "booting\n"
	    "  --dry-run       say which slot would boot; change nothing\n");
}

static long long
bootpick_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * This kernel's command line without the word naming a slot (a loader
 * that was itself booted by one); NULL with *cause set.
 */
static char *
bootpick_own_cmdline(char **cause)
{
	char *text = NULL, *out, *w, *save = NULL;
	size_t len, at = 0;

	if (file_read_proc("/proc/cmdline", BOOTPICK_CMDLINE_MAX, &text,
	    &len) == -1) {
		*cause = xasprintf("cannot read /proc/cmdline: %s",
		    strerror(errno));
		return NULL;
	}
	out = xcalloc(1, len + 1);
	for (w = strtok_r(text, " \t\n", &save); w != NULL;
	    w = strtok_r(NULL, " \t\n", &save)) {
		if (strncmp(w, BOOTPICK_ARG, strlen(BOOTPICK_ARG)) == 0)
			continue;
		at += (size_t)sprintf(out + at, "%s%s", at > 0 ? " " : "", w);
	}
	free(text);
	return out;
}

/*
 * Loads DIR/<slot>'s kernel (and its initramfs, if it has one) to be
 * booted with cmdline and our word; -1 with *cause set.
 */
static int
bootpick_load(const struct bootpick *p, enum slot_id slot, char **cause)
{
	char *kpath, *ipath, *cmdline;
	int kfd = -1, ifd = -1, ret = -1;
	unsigned long flags = 0;

	kpath = xasprintf("%s/%s/%s", p->dir, slot_name(slot), SLOT_KERNEL);
	ipath = xasprintf("%s/%s/%s", p->dir, slot_name(slot), SLOT_INITRD);
	cmdline = xasprintf("%s%s" BOOTPICK_ARG "%s", p->cmdline,
	    *p->cmdline != '\0' ? " " : "", slot_name(slot));
	if (strlen(cmdline) >= BOOTPICK_CMDLINE_MAX) {
		xcause(cause, "the command line is longer than %d bytes",
		    BOOTPICK_CMDLINE_MAX - 1);
		goto out;
	}
	if ((kfd = open(kpath, O_RDONLY | O_CLOEXEC)) == -1) {
		xcause(cause, "cannot open %s: %s", kpath, strerror(errno));
		goto out;
	}
	if ((ifd = open(ipath, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT) {
			xcause(cause, "cannot open %s: %s", ipath,
			    strerror(errno));
			goto out;
		}
		flags |= KEXEC_FILE_NO_INITRAMFS;
	}
	if (p->dry_run) {
		ret = 0;
		goto out;
	}
	if (syscall(SYS_kexec_file_load, kfd, ifd, strlen(cmdline) + 1,
	    cmdline, flags) == -1) {
		xcause(cause, "the kernel refused to load %s%s%s: %s%s", kpath,
		    ifd != -1 ? " with " : "", ifd != -1 ? ipath : "",
		    strerror(errno), errno == EPERM ? " (kexec_file_load is "
		    "locked down, or kexec is disabled by "
		    "kernel.kexec_load_disabled)" : errno == ENOEXEC ? " (not "
		    "a kernel image this kernel can boot)" : "");
		goto out;
	}
	ret = 0;
out:
	if (ifd != -1)
		close(ifd);
	if (kfd != -1)
		close(kfd);
	free(cmdline);
	free(ipath);
	free(kpath);
	return ret;
}

/* Picks, loads and changes the state under the slots' lock. */
static int
bootpick_fn(struct slot_state *st, void *arg, char **cause)
{
	struct bootpick *p = arg;
	enum slot_id slot;
	int changed = 0, trying;
	char *why = NULL;

	(void)cause;
	if (st->try != SLOT_NONE && st->tries == 0) {
		slot_fail(st, BOOTPICK_UNCONFIRMED, p->now_ms);
		p->failed = st->failed;
		changed = 1;
	}
	changed |= slot_pick(st, p->now_ms, &slot, &trying);
	if (trying && bootpick_load(p, slot, &why) == -1) {
		/* the try is used up: this slot is not booted again */
		slot_fail(st, why, p->now_ms);
		p->failed = st->failed;
		free(why);
		why = NULL;
		slot = st->good;
		trying = 0;
		changed = 1;
	}
	if (!trying && bootpick_load(p, slot, &why) == -1) {
		p->error = xasprintf("cannot boot the good slot %s: %s",
		    slot_name(slot), why);
		free(why);
		return p->dry_run ? 0 : changed;
	}
	p->slot = slot;
	p->trying = trying;
	strcpy(p->version, trying ? st->try_version : st->good_version);
	return p->dry_run ? 0 : changed;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "slots", required_argument, NULL, 's' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "unmount", required_argument, NULL, 'u' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bootpick p;
	const char *unmount = NULL, *cmdline = NULL;
	char *own = NULL, *cause = NULL, *done = NULL;
	int ch;

	memset(&p, 0, sizeof p);
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			p.dir = optarg;
			break;
		case 'c':
			cmdline = optarg;
			break;
		case 'u':
			unmount = optarg;
			break;
		case 'n':
			p.dry_run = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || p.dir == NULL) {
		usage(stderr);
		return 2;
	}
	if (cmdline == NULL && (cmdline = own = bootpick_own_cmdline(&cause)) ==
	    NULL) {
		fprintf(stderr, "cml-bootpick: %s\n", cause);
		return 1;
	}
	p.cmdline = cmdline;
	p.now_ms = bootpick_now_ms();

	/* nothing else writes the slots while the loader runs */
	if (!p.dry_run) {
		if (slot_recover(p.dir, &done, &cause) == -1) {
			fprintf(stderr, "cml-bootpick: %s\n", cause);
			return 1;
		}
		if (done != NULL)
			printf("cml-bootpick: %s\n", done);
		free(done);
	}
	if (slot_state_update(p.dir, bootpick_fn, &p, &cause) == -1) {
		fprintf(stderr, "cml-bootpick: %s\n", cause);
		return 1;
	}
	if (p.failed.slot != SLOT_NONE)
		printf("cml-bootpick: slot %s (boot image %s) failed: %s\n",
		    slot_name(p.failed.slot), p.failed.version,
		    p.failed.reason);
	if (p.error != NULL) {
		fprintf(stderr, "cml-bootpick: %s\n", p.error);
		return 1;
	}
	printf("cml-bootpick: %s slot %s (boot image %s, %s)\n",
	    p.dry_run ? "would boot" : "booting", slot_name(p.slot),
	    *p.version != '\0' ? p.version : "of unknown version",
	    p.trying ? "being tried once: it must confirm itself before the "
	    "next start" : "the good slot");
	fflush(stdout);
	free(own);
	if (p.dry_run)
		return 0;

	sync();
	if (unmount != NULL && umount2(unmount, 0) == -1 &&
	    mount(NULL, unmount, NULL, MS_REMOUNT | MS_RDONLY, NULL) == -1)
		fprintf(stderr, "cml-bootpick: cannot unmount %s nor make it "
		    "read-only: %s (the state is synced)\n", unmount,
		    strerror(errno));
	reboot(LINUX_REBOOT_CMD_KEXEC);
	fprintf(stderr, "cml-bootpick: cannot boot the loaded kernel of slot "
	    "%s: %s\n", slot_name(p.slot), strerror(errno));
	return 1;
}
