#!/bin/bash
# The containers' network when things go wrong, through the whole stack:
# cmld runs in a network namespace of the test's, with an uplink up0 to a
# second one playing the outside (net_stack_ns).
#
# Fail-closed: while another process owns table inet cml (nftables' table
# flag "owner": only the process holding the netlink socket may change
# it), cmld cannot load its base ruleset, and a linked container does not
# start, saying why; no link of it is left, and the refusal is audited;
# once the table is free, the same container starts.  A rule the kernel
# refuses (the base chain prerouting deleted behind cmld's back, so that a
# port forward cannot be added) refuses the start naming the rule, and
# leaves neither a link nor a chain of the container.
# kill -9 of cmld leaves the deny in force: the table with its drop policy
# is still there, a forbidden connection from a linked container still
# fails and an allowed one still works.  With the container killed too
# (its namespace kept alive by a process of the test's, so that its link
# survives it as after a crash), a restarted cmld removes the orphaned
# vc- link and the container's chain, audited.
# Interface assignment: an interface nic0 (a veth pair's end, its peer in
# the outside: a second network card) assigned to a container is in its
# namespace while it runs and gone from c0's, comes back at stop and at
# kill; a second container claiming it while the first runs is refused
# with a message naming the holder, and gets it once the first stopped.
# Nothing outside the test's namespaces is touched (the host's links are
# compared).
# Proves: NDR 5.2(3) (fail closed: no start without its rules, the deny
# stays when cmld dies), CR 5.1 (nothing of a container's network is left
# behind, orphans removed at restart), TSF.DEV (an interface assigned
# exclusively, moved in and back), TSF.ISOL (an assigned interface is one
# container's alone)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_prog ip nft busybox nsenter python3 mkfifo
host_before=$(net_host_links)
net_stack_ns
C0=$NET_C0
OUT=$NET_OUT
# a second network card: a veth pair's end, its peer in the outside (this
# kernel need not have dummy interfaces)
ip -n "$C0" link add nic0 type veth peer name nic0p netns "$OUT" ||
    fail "cannot make nic0 in $C0"
ct_setup
out=$(cmlsh_run --json -c 'net status' 2>&1) ||
    skip "cmld has no network yet ('net status': $out)"

vc_links() {
	net_vc_links "$C0"
}
chains() {
	net_chains "$C0"
}
# "yes" when interface NAME is in c0's namespace, "no" otherwise
in_c0() {
	if ip -n "$C0" link show "$1" >/dev/null 2>&1; then echo yes; else echo no; fi
}
# the interfaces of a container, from inside: names on one line
ct_ifaces() {
	ct_exec "$1" /bin/cat /proc/net/dev 2>&1 | sed -n '3,$s/^ *\([^:]*\):.*/\1/p' |
	    sort | tr '\n' ' ' | sed 's/ $//'
}
# the audit records of types network, container and call after record
# number FROM: "TYPE CONTAINER OBJECT RESULT: DETAILS": audit_net FROM
audit_net() {
	cmlsh_run --json -c 'audit list' | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"][int(sys.argv[1]):]:
    if r["type"] in ("network", "container", "call"):
        print("%s %s %s %s: %s" % (r["type"], r["container"] or "-", r["object"],
              r["result"], r["details"]))' "$1"
}

net_serve "$OUT" 8000 out:8000
net_serve "$OUT" 8001 out:8001

fc=$(ct_name fc)
fw=$(ct_name fw)
i1=$(ct_name i1)
i2=$(ct_name i2)
ct_create "$fc" '{"name":"'"$fc"'","guestos":{"name":"busybox"},"cml":{"network":{"mode":"link",
 "egress":[{"to":"192.0.2.2/32","proto":"tcp","port":8000,"uplink":"up0"}]}}}'
ct_create "$fw" '{"name":"'"$fw"'","guestos":{"name":"busybox"},"cml":{"network":{"mode":"link",
 "forward":[{"uplink":"up0","proto":"tcp","port":9080,"to_port":8080}]}}}'
ct_create "$i1" '{"name":"'"$i1"'","guestos":{"name":"busybox"},"cml":{"network":{"mode":"link","interfaces":["nic0"]}}}'
ct_create "$i2" '{"name":"'"$i2"'","guestos":{"name":"busybox"},"cml":{"network":{"mode":"link","interfaces":["nic0"]}}}'

# --- fail-closed: the table is another's -------------------------------------
# nft -i holds the netlink socket that owns the table while its input is open
mkfifo "$SCRATCH/nft.in" || fail "mkfifo failed"
nsenter --net="/run/netns/$C0" nft -i <"$SCRATCH/nft.in" >"$SCRATCH/nft.out" 2>&1 &
holder=$!
track_pid "$holder"
exec 8>"$SCRATCH/nft.in"
echo 'add table inet cml { flags owner; }' >&8
for ((i = 0; i < 50; i++)); do
	net_in "$C0" nft list table inet cml 2>/dev/null | grep -q 'flags owner' && break
	sleep 0.1
done
net_in "$C0" nft list table inet cml 2>/dev/null | grep -q 'flags owner' ||
    fail "no table inet cml owned by nft -i: $(cat "$SCRATCH/nft.out")"
n0=$(audit_count)
ct_cmlsh container start "$fc"
expect_status "the table owned by another: the start is refused" 1 "$rc"
expect_match "the refusal says why" \
    "^cmlsh: .*$fc.*the base ruleset cannot be loaded: .*(Operation not permitted|owner)" \
    "$(cat "$SCRATCH/err")"
expect_eq "the refused container has failed" failed "$(ct_state "$fc")"
expect_eq "no vc- link is left" "" "$(vc_links)"
expect_match "the refusal is audited with the reason" \
    "(^|"$'\n'")call $fc org\\.cml\\.Container\\.Start org\\.cml\\.Error\\.Failed: .*the base ruleset cannot be loaded: .*Operation not permitted" \
    "$(audit_net "$n0")"
# the owner gone, its table goes with it
exec 8>&-
wait "$holder"
untrack_pid "$holder"
expect_eq "the owner gone: no table" "" "$(net_in "$C0" nft list tables 2>&1)"
ct_start "$fc"
expect_eq "the table free: the same container starts" running "$(ct_state "$fc")"
expect_eq "cmld's base ruleset and the container's chain" "ctr-$fc -
forward drop" "$(chains | grep -e '^ctr-' -e '^forward ')"

# --- kill -9 of cmld: the deny stays ------------------------------------------
fc_pid=$(ct_show "$fc" pid)
fc_link=$(vc_links)
ct_tcp_fc() {
	nsenter --net="/proc/$fc_pid/ns/net" busybox nc -w 1 "$1" "$2" </dev/null 2>&1
}
expect_eq "before: $fc reaches its allowed port" out:8000 "$(ct_tcp_fc 192.0.2.2 8000)"
expect_eq "before: $fc's other port dropped" "nc: timed out" "$(ct_tcp_fc 192.0.2.2 8001)"
# a process of the test's keeps the container's namespace, and so its link
nsenter --net="/proc/$fc_pid/ns/net" sleep 600 </dev/null >/dev/null 2>&1 &
keeper=$!
track_pid "$keeper"
n0=$(audit_count)
cmld_kill9
expect_eq "cmld killed: the table and its drop policy stay" "ctr-$fc -
forward drop" "$(chains | grep -e '^ctr-' -e '^forward ')"
expect_match "cmld killed: nft lists the forward chain's drop policy" \
    'chain forward \{[^}]*policy drop;' "$(net_in "$C0" nft list table inet cml 2>&1 | tr '\n' ' ')"
expect_eq "cmld killed: a forbidden connection still fails" "nc: timed out" \
    "$(ct_tcp_fc 192.0.2.2 8001)"
expect_eq "cmld killed: an allowed one still works" out:8000 "$(ct_tcp_fc 192.0.2.2 8000)"
kill -KILL "$fc_pid"
for ((i = 0; i < 50; i++)); do
	kill -0 "$fc_pid" 2>/dev/null || break
	sleep 0.1
done
expect_eq "the container's init is gone, its link is left" "gone $fc_link" \
    "$(kill -0 "$fc_pid" 2>/dev/null && echo runs || echo gone) $(vc_links)"
stack_start
expect_eq "after the restart: the orphaned link is gone" "" "$(vc_links)"
expect_eq "after the restart: the orphaned chain is gone, the deny stays" "forward drop" \
    "$(chains | grep -e '^ctr-' -e '^forward ')"
expect_eq "after the restart: the container is stopped" stopped "$(ct_state "$fc")"
out=$(audit_net "$n0")
expect_match "the orphaned link's removal is audited" \
    "(^|"$'\n'")network - $fc_link ok: orphaned link $fc_link removed" "$out"
expect_match "the orphaned chain's removal is audited" \
    "(^|"$'\n'")network - $fc ok: orphaned chain ctr-$fc removed" "$out"
kill "$keeper"
wait "$keeper" 2>/dev/null
untrack_pid "$keeper"

# --- interface assignment ------------------------------------------------------
expect_eq "nic0 is in c0's namespace" yes "$(in_c0 nic0)"
ct_start "$i1"
expect_eq "$i1 runs with nic0 inside" "eth0 lo nic0" "$(ct_ifaces "$i1")"
expect_eq "nic0 is gone from c0's namespace" no "$(in_c0 nic0)"
ct_cmlsh container start "$i2"
expect_status "$i2 claiming nic0 while $i1 holds it: refused" 1 "$rc"
expect_match "the refusal names the holder" "^cmlsh: .*nic0.*$i1" "$(cat "$SCRATCH/err")"
expect_eq "$i2 has failed, $i1 keeps nic0" "failed eth0 lo nic0" \
    "$(ct_state "$i2") $(ct_ifaces "$i1")"
_run_tool "container stop $i1" "$CMLSH" --socket "$SOCK" container stop "$i1"
expect_eq "after $i1's stop: nic0 is back in c0's namespace" yes "$(in_c0 nic0)"
ct_start "$i2"
expect_eq "$i2 gets nic0 once $i1 stopped" "eth0 lo nic0" "$(ct_ifaces "$i2")"
out=$(cmlsh_run --yes container kill "$i2" 2>&1)
expect_status "container kill $i2" 0 $?
expect_eq "after $i2's kill: nic0 is back in c0's namespace" yes "$(in_c0 nic0)"
expect_eq "no vc- link is left (the kernel removes it with the namespace)" "" \
    "$(net_vc_links_gone "$C0")"

# --- fail-closed: a rule the kernel refuses ------------------------------------
# the base chain the port forwards go to, deleted behind cmld's back
net_in "$C0" nft flush chain inet cml prerouting &&
    net_in "$C0" nft delete chain inet cml prerouting ||
    fail "cannot delete chain prerouting"
n0=$(audit_count)
ct_cmlsh container start "$fw"
expect_status "a port forward the kernel refuses: the start is refused" 1 "$rc"
expect_match "the refusal names the rule and the kernel's reason" \
    "^cmlsh: .*$fw.*forward up0 tcp/9080.*No such file or directory" "$(cat "$SCRATCH/err")"
expect_eq "the refused container has failed" failed "$(ct_state "$fw")"
expect_eq "no vc- link is left" "" "$(vc_links)"
expect_eq "no chain of it is left, the deny stays" "forward drop" \
    "$(chains | grep -e '^ctr-' -e '^forward ')"
expect_match "the refusal is audited" \
    "(^|"$'\n'")container $fw container failed: network not set up: .*forward up0 tcp/9080" \
    "$(audit_net "$n0")"

expect_eq "the host's links are as they were" "$host_before" "$(net_host_links)"
finish
