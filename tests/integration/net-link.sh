#!/bin/bash
# Container links (daemon/cmld/net-link.c, driven by tests/tools/net-link)
# against the kernel, in network namespaces the test makes itself: "c0",
# two containers and an "outside"; the host's interfaces are never
# touched (checked at the end).  A link connects a container to c0 with a
# veth pair whose far end is created inside the container, both ends get
# the pool's addresses for the container's index and the container its
# default routes; both directions answer ping over IPv4 and IPv6.  Two
# containers do not reach each other while c0 does not forward, and do
# once forwarding is on in c0's namespace only.  A second link of the same
# name, a bad name, a bad address and a link that is not there are refused
# with the operation and the kernel's reason.  A link that fails half way
# (its route cannot be added) is removed again: nothing is left in either
# namespace; a removed link is gone from both, and removing it again is
# no error.  An interface is moved into a container's namespace, works
# there, and is moved back.
# Proves: TSF.ISOL, CR 5.1 (network part: a container's only link is its
# own pair to c0, nothing is left behind), TSF.DEV (interface assignment:
# an interface moves into a container and comes back), COM 01 (a
# container's only way out is its own link to c0).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_prog ip busybox
NL=$CML_BUILDDIR/tests/tools/net-link
[ -x "$NL" ] || skip "no $NL: build first (make tests/tools/net-link)"

P=cmlnl$$
C0=$P-c0
CT=$P-ct
CT2=$P-ct2
CT3=$P-ct3
OUT=$P-out
NAMESPACES=()

# Removes the namespaces this test made (and so all links in them), then
# what lib.sh cleans up.
net_cleanup() {
	local ns
	for ns in "${NAMESPACES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	cleanup
}
trap net_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

host_links() {
	ip -o link show | awk -F': ' '{ print $2 }' | sort
}
host_before=$(host_links)

for ns in "$C0" "$CT" "$CT2" "$CT3" "$OUT"; do
	ip netns add "$ns" || fail "ip netns add $ns failed"
	NAMESPACES+=("$ns")
done
nsf() { echo "/run/netns/$1"; }

# run DESC WANT_STATUS WANT_OUTPUT ARGS...: net-link ARGS, its status and
# its output (stdout and stderr) exactly.
run() {
	local desc=$1 want_status=$2 want=$3 out status
	shift 3
	out=$("$NL" "$@" 2>&1)
	status=$?
	expect_status "$desc" "$want_status" "$status"
	expect_eq "$desc: output" "$want" "$out"
}
# links NS: the names of NS's links, one a line, sorted (the peer part
# "@ifN" cut off).
links() {
	ip -n "$1" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort
}
# pings NS ADDR: 0 when one ping from NS reaches ADDR.
pings() {
	ip netns exec "$1" busybox ping -c 1 -W 2 "$2" >/dev/null 2>&1
}

POOL4=10.200.0.0/16
POOL6=fd00:c41::/48

# --- the pool ---------------------------------------------------------------
run "the lease of index 3" 0 "c0_v4 10.200.0.13/30
ctr_v4 10.200.0.14/30
c0_v6 fd00:c41:0:3::1/64
ctr_v6 fd00:c41:0:3::2/64
size 16384" pool $POOL4 $POOL6 3
run "an index beyond the pool" 1 \
	"net-link: link 64 is beyond the address pool (64 links)" \
	pool 10.9.0.0/24 - 64
run "a pool with host bits" 1 \
	"net-link: the IPv4 pool '10.200.0.1/16' has host bits set (meant 10.200.0.0/16?)" \
	pool 10.200.0.1/16 - 0

# --- a link ---------------------------------------------------------------------
run "connecting container 3" 0 "" \
	connect "$(nsf "$C0")" "$(nsf "$CT")" cml3 eth0 $POOL4 $POOL6 3
expect_eq "c0 holds its end only" "cml3
lo" "$(links "$C0")"
expect_eq "the container holds the other end only" "eth0
lo" "$(links "$CT")"
expect_eq "c0's end: its addresses" "10.200.0.13/30 fd00:c41:0:3::1/64" \
	"$(ip -n "$C0" -o addr show dev cml3 scope global | awk '{ print $4 }' | paste -sd' ')"
expect_eq "the container's end: its addresses" "10.200.0.14/30 fd00:c41:0:3::2/64" \
	"$(ip -n "$CT" -o addr show dev eth0 scope global | awk '{ print $4 }' | paste -sd' ')"
expect_eq "the container's default routes go via c0" "default via 10.200.0.13 dev eth0
default via fd00:c41:0:3::1 dev eth0" \
	"$(ip -n "$CT" -4 route show default | awk '{ print $1, $2, $3, $4, $5 }'
	   ip -n "$CT" -6 route show default | awk '{ print $1, $2, $3, $4, $5 }')"
pings "$CT" 10.200.0.13; expect_status "container -> c0, IPv4" 0 $?
pings "$CT" fd00:c41:0:3::1; expect_status "container -> c0, IPv6" 0 $?
pings "$C0" 10.200.0.14; expect_status "c0 -> container, IPv4" 0 $?
pings "$C0" fd00:c41:0:3::2; expect_status "c0 -> container, IPv6" 0 $?

# --- two containers, forwarding in c0 ----------------------------------------------
run "connecting container 4" 0 "" \
	connect "$(nsf "$C0")" "$(nsf "$CT2")" cml4 eth0 $POOL4 $POOL6 4
pings "$CT2" 10.200.0.17; expect_status "container 4 -> c0" 0 $?
pings "$CT2" 10.200.0.14; expect_status "container 4 -/-> container 3 (c0 does not forward)" 1 $?
run "listing c0's container links" 0 "cml3
cml4" list "$(nsf "$C0")" cml
host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
run "forwarding on in c0, IPv4" 0 "" forward "$(nsf "$C0")" 4 1
run "forwarding on in c0, IPv6" 0 "" forward "$(nsf "$C0")" 6 1
expect_eq "c0's forwarding is on" "1 1" \
	"$(ip netns exec "$C0" cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding | paste -sd' ')"
expect_eq "the containers' forwarding stays off" "0 0" \
	"$(ip netns exec "$CT" cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding | paste -sd' ')"
expect_eq "the host's forwarding is unchanged" "$host_fwd" "$(cat /proc/sys/net/ipv4/ip_forward)"
pings "$CT2" 10.200.0.14; expect_status "container 4 -> container 3 through c0, IPv4" 0 $?
pings "$CT2" fd00:c41:0:3::2; expect_status "container 4 -> container 3 through c0, IPv6" 0 $?
run "forwarding off in c0, IPv4" 0 "" forward "$(nsf "$C0")" 4 0
pings "$CT2" 10.200.0.14; expect_status "container 4 -/-> container 3 again" 1 $?

# --- refusals, each with the operation and the kernel's reason ------------------------
run "the same link again" 1 \
	"net-link: creating veth pair 'cml3'/'eth0' failed: File exists" \
	connect "$(nsf "$C0")" "$(nsf "$CT")" cml3 eth0 $POOL4 $POOL6 3
run "a second link into a container that has one" 1 \
	"net-link: creating veth pair 'cml9'/'eth0' failed: File exists" \
	connect "$(nsf "$C0")" "$(nsf "$CT")" cml9 eth0 $POOL4 $POOL6 9
expect_eq "the refusals changed nothing in c0" "cml3
cml4
lo" "$(links "$C0")"
run "an address twice" 1 \
	"net-link: adding address 10.200.0.13/30 to link 'cml3' failed: File exists (ipv4: Address already assigned)" \
	addr "$(nsf "$C0")" cml3 10.200.0.13/30
run "an address on a link that is not there" 1 \
	"net-link: adding address 10.200.0.13/30 to link 'nope' failed: No such device" \
	addr "$(nsf "$C0")" nope 10.200.0.13/30
run "a malformed address" 1 \
	"net-link: '10.0.0.1/33': the prefix length must be 0..32" \
	addr "$(nsf "$C0")" cml3 10.0.0.1/33
run "a name the kernel would not take" 1 \
	"net-link: deleting link 'a/b' failed: invalid name or request too long" \
	del "$(nsf "$C0")" a/b
run "a name too long" 1 \
	"net-link: creating veth pair 'cml-0123456789ab...'/'eth0' failed: invalid name or request too long" \
	veth "$(nsf "$C0")" cml-0123456789abcdef "$(nsf "$CT3")" eth0

# --- a link that fails half way leaves nothing ------------------------------------
ip -n "$CT3" link set lo up && ip -n "$CT3" route add default dev lo ||
	fail "could not give $CT3 a default route"
run "a link whose route cannot be added" 1 \
	"net-link: adding a default route via 10.200.0.21 failed: File exists" \
	connect "$(nsf "$C0")" "$(nsf "$CT3")" cml5 eth0 $POOL4 $POOL6 5
expect_eq "after the failure c0 has no cml5" "cml3
cml4
lo" "$(links "$C0")"
expect_eq "after the failure the container has no eth0" "lo" "$(links "$CT3")"
run "index says absent" 0 "absent" index "$(nsf "$C0")" cml5

# --- removal ------------------------------------------------------------------------
run "disconnecting container 3" 0 "" disconnect "$(nsf "$C0")" cml3
expect_eq "c0's end is gone" "cml4
lo" "$(links "$C0")"
expect_eq "the container's end is gone" "lo" "$(links "$CT")"
expect_eq "the container has no address or route left" "" \
	"$(ip -n "$CT" -o addr show scope global; ip -n "$CT" route show; ip -n "$CT" -6 route show)"
run "disconnecting it again is no error" 0 "" disconnect "$(nsf "$C0")" cml3
run "deleting it again is" 1 "net-link: deleting link 'cml3' failed: No such device" \
	del "$(nsf "$C0")" cml3
run "disconnecting container 4" 0 "" disconnect "$(nsf "$C0")" cml4
expect_eq "c0 holds no link any more" "lo" "$(links "$C0")"
run "listing finds none" 0 "" list "$(nsf "$C0")" cml
expect_eq "container 4 holds no link any more" "lo" "$(links "$CT2")"

# --- interface assignment: move an interface in and back ------------------------------
# A dummy interface where the kernel has them, else one end of a veth
# pair whose other end stays outside (then traffic proves the move too).
if ip -n "$OUT" link add name up0 type dummy 2>/dev/null; then
	kind=dummy
else
	echo "note: this kernel has no dummy interfaces; assigning one end of a veth pair"
	ip -n "$OUT" link add name up0 type veth peer name up0p ||
		fail "could not create a veth pair in $OUT"
	kind=veth
fi
# mac NS NAME: the link's hardware address, which goes where it goes.
mac() {
	ip -n "$1" -o link show dev "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}
mac_before=$(mac "$OUT" up0)
run "assigning up0 to the container" 0 "" move "$(nsf "$OUT")" up0 "$(nsf "$CT")"
expect_eq "up0 has left its namespace" "absent" "$("$NL" index "$(nsf "$OUT")" up0)"
expect_eq "up0 is in the container" "lo
up0" "$(links "$CT")"
expect_eq "the same interface" "$mac_before" "$(mac "$CT" up0)"
run "moving it again from where it is not" 1 \
	"net-link: moving link 'up0' to another network namespace failed: No such device" \
	move "$(nsf "$OUT")" up0 "$(nsf "$CT")"
if [ "$kind" = veth ]; then
	run "the container addresses up0" 0 "" addr "$(nsf "$CT")" up0 192.0.2.2/30
	run "the container sets up0 up" 0 "" up "$(nsf "$CT")" up0
	ip -n "$OUT" addr add 192.0.2.1/30 dev up0p && ip -n "$OUT" link set up0p up
	pings "$OUT" 192.0.2.2; expect_status "outside -> the container over its assigned interface" 0 $?
fi
run "returning up0" 0 "" move "$(nsf "$CT")" up0 "$(nsf "$OUT")"
expect_eq "up0 is back" "up0" "$(links "$OUT" | grep -x up0)"
expect_eq "up0 has left the container" "lo" "$(links "$CT")"
expect_eq "up0 came back as the same interface" "$mac_before" "$(mac "$OUT" up0)"
expect_match "index finds it there" "^[0-9]+$" "$("$NL" index "$(nsf "$OUT")" up0)"
if [ "$kind" = veth ]; then
	expect_eq "it came back without the container's address" "" \
		"$(ip -n "$OUT" -o addr show dev up0 scope global)"
fi

expect_eq "the host's links are unchanged" "$host_before" "$(host_links)"
finish
