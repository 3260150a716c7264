#!/bin/bash
# The management container c0: with the device setting c0_guestos, the
# next cmld creates c0 from that guest OS (audited), starts it before any
# other container, then starts the autostart containers and no other;
# c0 holds cmld's control socket at /run/cml/control.sock (cmld's run
# directory, read-only) and a client inside c0 is answered through it,
# while a service container has no such socket; a later cmld does not
# create c0 again but finds it running, and the client in c0 reaches the
# new cmld.
# c0 runs in cmld's network namespace without CAP_NET_ADMIN.
# Proves: OS 02 (c0 starts first; then the autostart containers),
# NDR 5.2 (c0 cannot change the links and rules cmld keeps),
# OS 05 (a service container has no control socket),
# TSF.ISOL (only c0 reaches cmld),
# OS 01 (c0 found running by a new cmld),
# CR 2.8 (c0's creation and start audited).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_prog gcc
ct_setup
ct_track c0

auto=$(ct_name c0-auto)
manual=$(ct_name c0-manual)
ct_create "$auto" '{"name":"'"$auto"'","guestos":{"name":"busybox"},"autostart":true}'
ct_create "$manual" '{"name":"'"$manual"'","guestos":{"name":"busybox"}}'
expect_eq "no c0 while c0_guestos is empty" "$auto stopped 
$manual stopped " "$(ct_list)"

cmlsh_run device config set c0_guestos busybox >/dev/null || fail "device config set c0_guestos busybox failed"
n0=$(audit_count)
stack_stop
stack_start

# --- c0 first, then the autostart containers ----------------------------------------------
# Each start waits for tpm2d's measurement: cmld answers calls meanwhile.
ct_wait_state c0 running >/dev/null
ct_wait_state "$auto" running >/dev/null
expect_eq "c0 comes first and runs, the autostart container runs, the other does not" \
"c0 running 
$auto running 
$manual stopped " "$(ct_list)"
audit=$(cmlsh_run --json -c 'audit list' | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"][int(sys.argv[1]):]:
    if r["type"] == "container":
        print("%s %s %s %s" % (r["container"], r["object"], r["result"], r["details"]))' "$n0")
expect_lines "audited: c0 created, c0 started, then the autostart container started" "$audit" \
    "^c0 container ok created c0 on guest OS busybox\$" \
    "^c0 container ok started c0 on busybox 1\\.0, init pid $(ct_show c0 pid)\$" \
    "^$auto container ok started $auto on busybox 1\\.0, init pid $(ct_show "$auto" pid)\$"
expect_eq "c0's config: on busybox, autostart" "busybox true" \
    "$(cmlsh_run --json container config c0 | python3 -c 'import json, sys
c = json.load(sys.stdin)["config"]
print(c["guestos"]["name"], str(c["autostart"]).lower())')"

# --- the control socket in c0 -----------------------------------------------------------
out=$(ct_exec c0 /bin/stat -c '%F' /run/cml/control.sock 2>&1)
expect_eq "c0 has /run/cml/control.sock" "socket" "$out"
cat >"$SCRATCH/vl.c" <<'EOF'
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* vl SOCKET MESSAGE: sends one varlink message, prints the reply */
int
main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[65536];
	size_t off = 0;
	ssize_t n;
	int fd;

	if (argc != 3)
		return 2;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strncpy(sa.sun_path, argv[1], sizeof sa.sun_path - 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		perror("connect");
		return 1;
	}
	if (write(fd, argv[2], strlen(argv[2]) + 1) < 0)
		return 1;
	while (off < sizeof buf - 1 &&
	    (n = read(fd, buf + off, sizeof buf - 1 - off)) > 0) {
		off += (size_t)n;
		if (memchr(buf, '\0', off) != NULL)
			break;
	}
	buf[off] = '\0';
	printf("%s\n", buf);
	return 0;
}
EOF
_run_tool "gcc -static vl.c" gcc -static -O1 -o "$SCRATCH/vl" "$SCRATCH/vl.c"
cp "$SCRATCH/vl" "/proc/$(ct_show c0 pid)/root/tmp/vl" || fail "cannot copy the client into c0"
out=$(ct_exec c0 /tmp/vl /run/cml/control.sock '{"method":"org.cml.Device.Status"}' 2>&1)
expect_eq "a client in c0 is answered by cmld (Device.Status: the state directory)" "$(state_dir)" \
    "$(printf '%s' "$out" | tr -d '\0' | json_get parameters state_dir)"
out=$(ct_exec c0 /tmp/vl /run/cml/control.sock '{"method":"org.cml.Container.List"}' 2>&1)
expect_eq "a client in c0 lists the containers" "c0 $auto $manual" \
    "$(printf '%s' "$out" | tr -d '\0' | python3 -c 'import json, sys
print(" ".join(c["name"] for c in json.load(sys.stdin)["parameters"]["containers"]))' 2>&1)"
out=$(ct_exec c0 /bin/touch /run/cml/x 2>&1)
expect_eq "c0 cannot write into cmld's run directory" "touch: /run/cml/x: Read-only file system" "$out"
expect_eq "a service container has no control socket" "absent" \
    "$(ct_exec "$auto" /bin/sh -c '[ -e /run/cml/control.sock ] && echo present || echo absent' 2>&1)"
# c0 runs in cmld's network namespace (the uplinks' one); a service
# container in one of its own; c0 cannot change links or rules there
expect_eq "c0 shares cmld's network namespace" "$(readlink "/proc/$(cmld_pid)/ns/net")" \
    "$(readlink "/proc/$(ct_show c0 pid)/ns/net")"
[ "$(readlink "/proc/$(cmld_pid)/ns/net")" != "$(readlink "/proc/$(ct_show "$auto" pid)/ns/net")" ]
expect_status "a service container has a network namespace of its own" 0 $?
expect_eq "c0 has no CAP_NET_ADMIN (bit 12) in its bounding set" 0 \
    "$(( 0x$(awk '/^CapBnd:/ { print $2 }' "/proc/$(ct_show c0 pid)/status") >> 12 & 1 ))"

# --- a later cmld finds c0 again ---------------------------------------------------------------
c0pid=$(ct_show c0 pid)
n0=$(audit_count)
stack_stop
stack_start
expect_eq "c0 found running again, the same init" "running $c0pid" "$(ct_state c0) $(ct_show c0 pid)"
audit=$(cmlsh_run --json -c 'audit list' | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"][int(sys.argv[1]):]:
    if r["type"] == "container" and r["container"] == "c0":
        print("%s %s" % (r["result"], r["details"]))' "$n0")
expect_eq "audited: c0 found, not created again" "ok found running after a cmld restart (init pid $c0pid)" "$audit"
out=$(ct_exec c0 /tmp/vl /run/cml/control.sock '{"method":"org.cml.Device.Status"}' 2>&1)
# (the old cmld's socket is gone: only the new one can answer)
expect_eq "the client in c0 reaches the new cmld" "$(state_dir)" \
    "$(printf '%s' "$out" | tr -d '\0' | json_get parameters state_dir)"
expect_eq "one c0" "1" "$(sqlite3 "$(state_dir)/cml.db" "select count(*) from container where name = 'c0'")"

finish
