#!/bin/bash
# The container links' firewall (daemon/cmld/net-fw.c, driven by
# tests/tools/net-fw) in network namespaces this test makes: "out" plays
# the outside world behind c0's uplink up0, "c0" holds the uplink and the
# container links vc-web and vc-db, "web" and "db" are two service
# containers.  With real TCP and ping traffic: a link without rules reaches
# nothing (fail-closed), a container reaches only what it is allowed and
# leaves with the uplink's address, two containers never reach each other,
# c0 reaches only a management port, the outside reaches a container only
# through its port forward (not by routing to its address).  The table is
# read back with `nft -j` as an independent check.  A change the kernel
# refuses half-way (a port forward whose chain is gone), a prefix that slipped
# past the config check, and a second add of the same container fail with a
# cause naming the rule, and leave `nft -j list table inet cml` exactly as
# it was.  Removing a container leaves nothing of it.  Nothing outside the
# test's namespaces is touched.
# Island mode (no link at all) is the container's side and not tested here.
# The rules in force are shown as nft itself lists them, read back
# independently.
# Proves: TSF.ISOL (only c0 reaches a service container; containers never
# reach each other), CR 5.1 (default deny on every container link, one
# transaction per change), NDR 5.2 (only configured flows, both directions),
# NDR 5.2(1) (deny all, permit by exception), NDR 5.2(3) (fail closed: the
# deny is in force before a container's rules, and a failed change leaves
# nothing of them)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_prog ip nft python3 busybox
FW=$CML_BUILDDIR/tests/tools/net-fw
[ -x "$FW" ] || skip "no $FW: build first (or set CML_BUILDDIR)"
make_scratch

# Namespaces of this run only, removed at the end whatever happens.
NS_PREFIX=cmlfw$$
NSES=(out c0 web db)
ns() { echo "$NS_PREFIX-$1"; }
in_ns() {
	local n=$1
	shift
	ip netns exec "$(ns "$n")" "$@"
}
ns_cleanup() {
	local n
	for n in "${NSES[@]}"; do
		ip netns del "$(ns "$n")" 2>/dev/null
	done
}
trap 'st=$?; ns_cleanup; (exit $st); cleanup' EXIT
for n in "${NSES[@]}"; do
	ip netns add "$(ns "$n")" || fail "cannot make network namespace $(ns "$n")"
	in_ns "$n" ip link set lo up
done
# Every link is made inside c0's namespace, never in the host's.
in_ns c0 ip link add up0 type veth peer name eth0 netns "$(ns out)" ||
	fail "cannot make the uplink"
in_ns c0 ip link add vc-web type veth peer name eth0 netns "$(ns web)" ||
	fail "cannot make web's link"
in_ns c0 ip link add vc-db type veth peer name eth0 netns "$(ns db)" ||
	fail "cannot make db's link"
in_ns out ip addr add 192.0.2.2/24 dev eth0
in_ns c0 ip addr add 192.0.2.1/24 dev up0
in_ns c0 ip addr add 10.200.0.1/30 dev vc-web
in_ns c0 ip addr add 10.200.0.5/30 dev vc-db
in_ns web ip addr add 10.200.0.2/30 dev eth0
in_ns db ip addr add 10.200.0.6/30 dev eth0
for n in out web db; do in_ns "$n" ip link set eth0 up; done
for l in up0 vc-web vc-db; do in_ns c0 ip link set "$l" up; done
in_ns web ip route add default via 10.200.0.1
in_ns db ip route add default via 10.200.0.5
# the outside could route to the containers' addresses: only the port
# forward may let it in
in_ns out ip route add 10.200.0.0/16 via 192.0.2.1
in_ns c0 sysctl -qw net.ipv4.ip_forward=1

# A TCP server in a namespace: answers "NAME:PORT from PEER" on each port.
serve() {
	local n=$1
	shift
	in_ns "$n" python3 -c '
import socket, sys, threading
name = sys.argv[1]
def run(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(8)
    while True:
        c, peer = s.accept()
        c.sendall(("%s:%d from %s\n" % (name, port, peer[0])).encode())
        c.close()
for p in sys.argv[2:]:
    threading.Thread(target=run, args=(int(p),), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
' "$n" "$@" >"$SCRATCH/serve-$n" 2>&1 &
	track_pid $!
}
serve out 8000 8001
serve web 80 22
serve db 22
serve c0 22
for n in out web db c0; do
	for _ in $(seq 50); do
		grep -q ready "$SCRATCH/serve-$n" 2>/dev/null && break
		sleep 0.1
	done
	grep -q ready "$SCRATCH/serve-$n" || fail "the server in $n did not start"
done

# tcp FROM HOST PORT: prints what the server answered, "timeout" when the
# connection was dropped, "refused" when nothing listens.
tcp() {
	in_ns "$1" python3 -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)
    print(s.recv(100).decode().strip())
except socket.timeout:
    print("timeout")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print("error: %s" % e)
' "$2" "$3"
}
# pings FROM HOST: "ok" or "dropped"
pings() {
	if in_ns "$1" busybox ping -c 1 -W 1 "$2" >/dev/null 2>&1; then echo ok; else echo dropped; fi
}
# table: table inet cml as nft shows it in JSON, counters left out (the
# kernel counts packets on its own; rules, handles and order stay exact)
table() {
	in_ns c0 nft -j list table inet cml | python3 -c '
import json, sys
d = json.load(sys.stdin)["nftables"]
for o in d:
    for e in o.get("rule", {}).get("expr", []):
        if "counter" in e:
            e["counter"] = {}
print(json.dumps(d, sort_keys=True))'
}
# summary: "chain NAME POLICY" per chain, then "chain: comment" per rule
summary() {
	in_ns c0 nft -j list table inet cml | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    if "chain" in o:
        c = o["chain"]
        print("chain %s %s" % (c["name"], c.get("policy", "-")))
    elif "rule" in o:
        print("%s: %s" % (o["rule"]["chain"], o["rule"].get("comment")))'
}

# --- the base ruleset comes first: a link without rules reaches nothing ---
out=$(in_ns c0 "$FW" base vc up0 2>&1)
expect_status "base ruleset installed" 0 $?
expect_eq "base ruleset, read back by nft" "chain forward drop
chain input accept
chain output accept
chain prerouting accept
chain postrouting accept
forward: cml: no container link reaches another
input: cml: nothing else from a container link
output: cml: nothing else to a container link
postrouting: cml: masquerade through up0" "$(summary)"
expect_eq "no other table in c0's namespace" "table inet cml" \
	"$(in_ns c0 nft list tables)"
expect_eq "a link without rules: egress dropped" timeout "$(tcp web 192.0.2.2 8000)"
expect_eq "a link without rules: c0 cannot reach it" timeout "$(tcp c0 10.200.0.2 22)"
expect_eq "a link without rules: it cannot reach c0" timeout "$(tcp web 10.200.0.1 22)"
expect_eq "the host's ruleset is not ours" "" "$(nft list table inet cml 2>/dev/null)"

# --- allowances ---
out=$(in_ns c0 "$FW" add web vc-web egress up0 192.0.2.2/32 tcp/8000 \
	forward up0 tcp/8080 10.200.0.2 80 mgmt tcp/22 2>&1)
expect_status "web's rules added" 0 $?
out=$(in_ns c0 "$FW" add db vc-db egress up0 192.0.2.0/24 any mgmt tcp/22 2>&1)
expect_status "db's rules added" 0 $?
expect_eq "containers with chains" "web
db" "$(in_ns c0 "$FW" ids)"
# the rules in force are shown as nft itself lists them, read back
# independently
expect_eq "the rules as cmld shows them are nft's listing, rule by rule" \
	"same 26" "$(net_rules_vs_nft "$(ns c0)" "$(in_ns c0 "$FW" list)")"

expect_eq "web reaches its allowed port, masqueraded" "out:8000 from 192.0.2.1" \
	"$(tcp web 192.0.2.2 8000)"
expect_eq "web: another port of the same host dropped" timeout "$(tcp web 192.0.2.2 8001)"
expect_eq "web: ping to the outside dropped (tcp/8000 only)" dropped "$(pings web 192.0.2.2)"
expect_eq "db: any protocol to its prefix (ping)" ok "$(pings db 192.0.2.2)"
expect_eq "db: any port to its prefix" "out:8001 from 192.0.2.1" "$(tcp db 192.0.2.2 8001)"
expect_eq "web cannot reach db" timeout "$(tcp web 10.200.0.6 22)"
expect_eq "db cannot reach web" timeout "$(tcp db 10.200.0.2 22)"
expect_eq "db cannot ping web" dropped "$(pings db 10.200.0.2)"
expect_eq "c0 reaches web's management port" "web:22 from 10.200.0.1" "$(tcp c0 10.200.0.2 22)"
expect_eq "c0: web's other port dropped" timeout "$(tcp c0 10.200.0.2 80)"
expect_eq "web cannot reach c0" timeout "$(tcp web 10.200.0.1 22)"
expect_eq "the port forward reaches web" "web:80 from 192.0.2.2" "$(tcp out 192.0.2.1 8080)"
expect_eq "the outside cannot route to web's address" timeout "$(tcp out 10.200.0.2 80)"
expect_eq "the outside cannot reach db" timeout "$(tcp out 10.200.0.6 22)"

# --- failures leave the table exactly as it was ---
before=$(table)
out=$(in_ns c0 "$FW" add web vc-web 2>&1)
expect_status "web added twice: refused" 1 $?
expect_eq "web added twice: the cause" \
	"net-fw: firewall of container 'web': cannot add chain ctr-web: File exists" "$out"
expect_eq "web added twice: table unchanged" "$before" "$(table)"

out=$(in_ns c0 "$FW" add api vc-api egress up0 192.0.2.2/32 tcp/8000 \
	egress up0 raw:192.0.2.0/33 any 2>&1)
expect_status "a prefix past the config check: refused" 1 $?
expect_eq "a prefix past the config check: the cause names it" \
	"net-fw: container 'api': egress 2: prefix length 33, must be 0 to 32" "$out"
expect_eq "a prefix past the config check: table unchanged" "$before" "$(table)"

# The kernel refuses the last rules of a transaction: every earlier one
# (api's chain, its rules, the base chains' jumps) must go with it.
in_ns c0 nft flush chain inet cml prerouting && in_ns c0 nft delete chain inet cml prerouting ||
	fail "cannot delete the prerouting chain"
before=$(table)
out=$(in_ns c0 "$FW" add api vc-api egress up0 192.0.2.2/32 tcp/8000 \
	forward up0 tcp/9090 10.200.0.10 80 mgmt tcp/22 2>&1)
expect_status "a rule the kernel refuses: refused" 1 $?
expect_eq "a rule the kernel refuses: the cause names it" \
	"net-fw: firewall of container 'api': cannot add rule \"ctr-api: forward up0 tcp/9090 to 10.200.0.10 port 80\" in chain prerouting: No such file or directory" "$out"
expect_eq "a rule the kernel refuses: table unchanged" "$before" "$(table)"
expect_eq "a rule the kernel refuses: no chain of api" "web
db" "$(in_ns c0 "$FW" ids)"

# The base ruleset made anew (what cmld does at its start): the old
# containers' chains go, the deny stays.
out=$(in_ns c0 "$FW" base vc up0 2>&1)
expect_status "base ruleset installed again" 0 $?
expect_eq "base ruleset again: no container's chain" "" "$(in_ns c0 "$FW" ids)"
expect_eq "base ruleset again: web's egress dropped" timeout "$(tcp web 192.0.2.2 8000)"

# --- removal ---
out=$(in_ns c0 "$FW" add web vc-web egress up0 192.0.2.2/32 tcp/8000 \
	forward up0 tcp/8080 10.200.0.2 80 mgmt tcp/22 2>&1) &&
	out=$(in_ns c0 "$FW" add db vc-db egress up0 192.0.2.0/24 any 2>&1)
expect_status "web and db added again" 0 $?
expect_eq "web's egress works again" "out:8000 from 192.0.2.1" "$(tcp web 192.0.2.2 8000)"
out=$(in_ns c0 "$FW" remove web 2>&1)
expect_status "web removed" 0 $?
expect_eq "after removal: nothing of web in the table" "" \
	"$(summary | grep -e ctr-web -e vc-web)"
expect_eq "after removal: db's rules remain" "chain ctr-db -" "$(summary | grep '^chain ctr-')"
expect_eq "after removal: web's egress dropped" timeout "$(tcp web 192.0.2.2 8000)"
# no DNAT any more: c0 itself answers, and nothing listens there
expect_eq "after removal: the port forward is gone" refused "$(tcp out 192.0.2.1 8080)"
expect_eq "after removal: db still reaches out" "out:8000 from 192.0.2.1" "$(tcp db 192.0.2.2 8000)"
before=$(table)
out=$(in_ns c0 "$FW" remove web 2>&1)
expect_status "removing what is gone: no error" 0 $?
expect_eq "removing what is gone: table unchanged" "$before" "$(table)"

# net_fw_list: what `net rules` will show, read back through libnftnl
out=$(in_ns c0 "$FW" list | python3 -c '
import json, sys
d = json.load(sys.stdin)
for c in d["chains"]:
    print(c["name"], c.get("policy", "-"), len(c["rules"]))')
expect_eq "the table read back through libnftnl" "forward drop 3
input accept 2
output accept 2
prerouting accept 0
postrouting accept 1
ctr-db - 5" "$out"

# Every kind of allowance, IPv6 too, as cmld shows it and nft lists it:
# the family and the protocol left out where the address, port or ICMPv6
# type implies them, prefixes, any port, any protocol, port forwards to
# IPv4 and IPv6, conntrack, counters after traffic, jumps, masquerade.
# (the rules in force are shown truthfully)
out=$(in_ns c0 "$FW" add all vc-all egress up0 192.0.2.2/32 tcp/8000 \
	egress up0 2001:db8::/32 udp egress up0 10.9.0.0/20 any \
	egress up0 0.0.0.0/0 tcp forward up0 tcp/8080 10.200.0.10 80 \
	forward up0 udp/5353 fd00:c41::2 53 mgmt tcp/22 mgmt udp/161 2>&1)
expect_status "a container with every kind of allowance added" 0 $?
expect_eq "web cannot ping db (counted)" dropped "$(pings web 10.200.0.6)"
list=$(in_ns c0 "$FW" list)
expect_eq "every kind of rule as cmld shows it is nft's listing" \
	"same 31" "$(net_rules_vs_nft "$(ns c0)" "$list")"
expect_eq "every kind of rule: nothing left in libnftnl's form" "" \
	"$(printf '%s' "$list" | python3 -c 'import json, sys
for c in json.load(sys.stdin)["chains"]:
    for r in c["rules"]:
        if "[ " in r["expr"] or not r["raw"].startswith("[ "):
            print(c["name"], r["handle"], r["expr"])')"
expect_eq "the counters shown are the kernel's: web's ping to db counted" yes \
	"$(printf '%s' "$list" | python3 -c 'import json, re, sys
for c in json.load(sys.stdin)["chains"]:
    for r in c["rules"]:
        if r["comment"] == "cml: no container link reaches another":
            m = re.search(r"counter packets ([0-9]+) bytes ([0-9]+) drop$",
                          r["expr"])
            print("yes" if m and int(m.group(1)) > 0 else r["expr"])')"

finish
