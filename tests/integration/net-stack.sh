#!/bin/bash
# The containers' network through the whole stack, with real traffic: cmld
# runs in a network namespace of the test's (c0's namespace, holding the
# uplink up0), a second namespace plays the outside world behind up0 and
# routes the container pool back to it, so that only cmld's firewall stands
# between the outside and a container's address.  busybox nc servers answer
# in the outside, in c0's namespace and in the containers; clients connect
# with busybox nc and ping.
#
# An island container has only lo and reaches nothing.  A linked container
# gets eth0 with the pool's addresses for its index, its c0 end vc-INDEX,
# a default route via c0 and the configured DNS servers in resolv.conf; it
# reaches exactly what its egress allows (one TCP port, not another, no
# ping; a second container allowed any protocol pings), nothing outside
# reaches it but through its port forward, which works (and is gone with
# the container); two linked containers reach each other in neither
# direction; c0 reaches a container's management port and no other.  c0
# itself, guarded on its uplink, is reached from outside only at its listed
# port, and its own connections out are answered.  The
# table is read with `nft -j` as an independent check after the starts and
# the stops: a chain per running linked container, none left after the
# stops, nor any vc- link; the deny stays.  Nothing outside the test's
# namespaces is touched (the host's links and ruleset are compared).
# A linked container in a user namespace of its own gets the same, in the
# namespace its clone made, and its root cannot change its addresses.
# Pings from a container's namespace are sent by busybox on the host
# (nsenter): the container's root has no CAP_NET_RAW over it.
# Proves: NDR 5.2 (only configured flows, both directions), NDR 5.2(1)
# (deny all, permit by exception: egress and port forward), NDR 5.2(2)
# (island mode: no interface but lo, nothing reached), CR 5.1 (a
# container's only link is its own to c0; containers never reach each
# other), OS 02 (service containers kept apart on the network), TSF.ISOL
# (only c0 reaches a service container, at its management port), NDR 1.13
# (from the untrusted outside only a port forward reaches a container, and
# c0 itself only at its listed ports on a guarded uplink)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_prog ip nft busybox nsenter python3
host_before=$(net_host_links)
host_table_before=$(nft list table inet cml 2>&1)
net_stack_ns
ct_setup
C0=$NET_C0
OUT=$NET_OUT

cmld_ns=$(readlink "/proc/$(cmld_pid)/ns/net")
expect_eq "cmld runs in the test's namespace $C0" \
    "$(net_in "$C0" readlink /proc/self/ns/net)" "$cmld_ns"
out=$(cmlsh_run --json -c 'net status' 2>&1) ||
    skip "cmld has no network yet ('net status': $out)"

# --- helpers -------------------------------------------------------------------
# TCP from inside container NAME: what busybox nc got: ct_tcp NAME ADDR PORT
ct_tcp() {
	ct_exec "$1" /bin/busybox nc -w 1 "$2" "$3" </dev/null 2>&1
}
# ping from container NAME's network namespace: "ok" or "no"
ct_ping() {
	if nsenter --net="/proc/$(ct_show "$1" pid)/ns/net" busybox ping -c 1 -W 1 \
	    "$2" >/dev/null 2>&1; then
		echo ok
	else
		echo no
	fi
}
# a TCP server in container NAME answering TEXT on PORT: ct_serve NAME PORT TEXT
ct_serve() {
	local i
	ct_exec "$1" /bin/sh -c "busybox nc -ll -p $2 -e echo $3 </dev/null >/dev/null 2>&1 &" \
	    >/dev/null 2>&1
	for ((i = 0; i < 50; i++)); do
		ct_exec "$1" /bin/busybox netstat -ltn 2>&1 | grep -q ":$2 " && return 0
		sleep 0.1
	done
	fail "no server on port $2 in $1"
}
# the addresses of eth0 in container NAME's namespace, as the kernel has
# them: "ADDR/LEN" a line, IPv4 first, link-local ones left out
ct_addrs() {
	nsenter --net="/proc/$(ct_show "$1" pid)/ns/net" ip -j addr show dev eth0 |
	    python3 -c '
import json, sys
a = [x for i in json.load(sys.stdin) for x in i["addr_info"]
     if x.get("scope") != "link"]
a.sort(key=lambda x: x["family"] != "inet")
for x in a:
    print("%s/%s" % (x["local"], x["prefixlen"]))'
}
# the c0 ends in c0's namespace: "vc-N ADDR/LEN ..." a line, sorted
c0_links() {
	ip -n "$C0" -j addr show | python3 -c '
import json, sys
for i in sorted(json.load(sys.stdin), key=lambda i: i["ifname"]):
    if i["ifname"].startswith("vc-"):
        print(" ".join([i["ifname"]] + ["%s/%s" % (x["local"], x["prefixlen"])
              for x in i["addr_info"] if x.get("scope") != "link"]))'
}
# the table as `nft -j` shows it: "chain NAME POLICY" a chain, sorted
chains() {
	net_chains "$C0" | sed 's/^/chain /'
}
# the ctr- chains only
ctr_chains() {
	chains | grep '^chain ctr-'
}

# --- servers -------------------------------------------------------------------
net_serve "$OUT" 8000 out:8000
net_serve "$OUT" 8001 out:8001
net_serve "$C0" 2222 c0:2222
net_serve "$C0" 2223 c0:2223

# c0 itself guarded on its uplink: only its port 2222 from outside (read
# when the base ruleset loads, at the first link)
_run_tool "device config set net_guard_uplinks" "$CMLSH" --socket "$SOCK" \
    device config set net_guard_uplinks up0
_run_tool "device config set net_c0_ports" "$CMLSH" --socket "$SOCK" \
    device config set net_c0_ports tcp/2222

# --- island --------------------------------------------------------------------
isl=$(ct_name isl)
web=$(ct_name web)
db=$(ct_name db)
ct_create "$isl" '{"name":"'"$isl"'","guestos":{"name":"busybox"}}'
ct_create "$web" '{"name":"'"$web"'","guestos":{"name":"busybox"},"cml":{"network":{"mode":"link",
 "egress":[{"to":"192.0.2.2/32","proto":"tcp","port":8000,"uplink":"up0"}],
 "forward":[{"uplink":"up0","proto":"tcp","port":9080,"to_port":8080}],
 "management":[{"proto":"tcp","port":2222}],
 "dns":["192.0.2.53","2001:db8::53"]}}}'
ct_create "$db" '{"name":"'"$db"'","guestos":{"name":"busybox"},"cml":{"network":{"mode":"link",
 "egress":[{"to":"192.0.2.0/24","proto":"any","uplink":"up0"},
           {"to":"2001:db8::/64","proto":"tcp","port":8000,"uplink":"up0"}],
 "management":[{"proto":"tcp","port":2222}]}}}'

ct_start "$isl"
out=$(ct_exec "$isl" /bin/cat /proc/net/dev 2>&1)
expect_eq "island: lo is its only interface" "lo" \
    "$(sed -n '3,$s/^ *\([^:]*\):.*/\1/p' <<<"$out")"
expect_eq "island: the outside is unreachable" \
    "nc: can't connect to remote host (192.0.2.2): Network is unreachable" \
    "$(ct_tcp "$isl" 192.0.2.2 8000)"
expect_eq "island: c0's uplink address is unreachable" \
    "nc: can't connect to remote host (192.0.2.1): Network is unreachable" \
    "$(ct_tcp "$isl" 192.0.2.1 2222)"
expect_eq "island: no ping out" no "$(ct_ping "$isl" 192.0.2.2)"
expect_eq "island: no vc- link for it, no chain" "" "$(c0_links)$(ctr_chains)"

# --- linked: addresses, routes, DNS --------------------------------------------
ct_start "$web"
ct_start "$db"
declare -A ip4 ip6 c0end c0addr
for n in "$web" "$db"; do
	mapfile -t a < <(ct_addrs "$n")
	ip4[$n]=${a[0]%/*}
	ip6[$n]=${a[1]%/*}
	# index i: the i-th /30 of 10.200.0.0/16 (c0 .1, the container .2)
	expect_match "$n: eth0 has a /30 and a /64 of the pools" \
	    '^10\.200\.[0-9]+\.[0-9]+/30 fd00:c41:[0-9a-f:]+/(64|126)$' "${a[*]}"
	IFS=. read -r _ _ b3 b4 <<<"${ip4[$n]}"
	idx=$(( (b3 * 256 + b4) / 4 ))
	expect_eq "$n: the container's end is .2 of its /30" 2 $(( b4 % 4 ))
	c0end[$n]=vc-$idx
	c0addr[$n]=10.200.$b3.$((b4 - 1))
	expect_match "$n: its c0 end vc-$idx holds .1 of the /30" \
	    "^vc-$idx 10\\.200\\.$b3\\.$((b4 - 1))/30 fd00:c41:" "$(c0_links | grep "^vc-$idx ")"
	expect_eq "$n: default route via c0" "default via ${c0addr[$n]} dev eth0" \
	    "$(ct_exec "$n" /bin/busybox ip -4 route show default 2>&1 | sed 's/ *$//')"
done
expect_eq "two c0 ends, one a container" 2 "$(c0_links | wc -l)"
expect_eq "$web: resolv.conf holds the configured servers" "nameserver 192.0.2.53
nameserver 2001:db8::53" "$(ct_exec "$web" /bin/cat /etc/resolv.conf 2>&1 | grep -v '^#')"
expect_eq "nft: the deny, and a chain for each linked container" "chain ctr-$db -
chain ctr-$web -
chain forward drop" "$(chains | grep -e '^chain ctr-' -e '^chain forward ')"

ct_serve "$web" 8080 web:8080
ct_serve "$web" 2222 web:2222
ct_serve "$db" 8080 db:8080
ct_serve "$db" 2222 db:2222

# --- egress --------------------------------------------------------------------
expect_eq "web reaches its allowed port outside" out:8000 "$(ct_tcp "$web" 192.0.2.2 8000)"
expect_eq "web: another port of the same host dropped" "nc: timed out" \
    "$(ct_tcp "$web" 192.0.2.2 8001)"
expect_eq "web: ping outside dropped (tcp/8000 only)" no "$(ct_ping "$web" 192.0.2.2)"
expect_eq "web: IPv6 to the allowed port of another family dropped" "nc: timed out" \
    "$(ct_tcp "$web" 2001:db8::2 8000)"
expect_eq "db: any protocol to its prefix: ping" ok "$(ct_ping "$db" 192.0.2.2)"
expect_eq "db: any port to its prefix" out:8001 "$(ct_tcp "$db" 192.0.2.2 8001)"
expect_eq "db: IPv6 to its allowed port" out:8000 "$(ct_tcp "$db" 2001:db8::2 8000)"
expect_eq "db: IPv6 to another port dropped" "nc: timed out" "$(ct_tcp "$db" 2001:db8::2 8001)"
expect_eq "web cannot reach c0's uplink address" "nc: timed out" \
    "$(ct_tcp "$web" 192.0.2.1 2222)"
expect_eq "web cannot reach its own c0 end" "nc: timed out" \
    "$(ct_tcp "$web" "${c0addr[$web]}" 2222)"

# --- ingress -------------------------------------------------------------------
expect_eq "the outside reaches web through its port forward" web:8080 \
    "$(net_tcp "$OUT" 192.0.2.1 9080)"
expect_eq "the outside cannot route to web's address" "nc: timed out" \
    "$(net_tcp "$OUT" "${ip4[$web]}" 8080)"
expect_eq "the outside cannot reach web's management port" "nc: timed out" \
    "$(net_tcp "$OUT" "${ip4[$web]}" 2222)"
expect_eq "the outside cannot reach db's server (no forward)" "nc: timed out" \
    "$(net_tcp "$OUT" "${ip4[$db]}" 8080)"
expect_eq "the outside cannot reach db over IPv6" "nc: timed out" \
    "$(net_tcp "$OUT" "${ip6[$db]}" 8080)"
expect_eq "the outside cannot ping db" no "$(net_ping "$OUT" "${ip4[$db]}")"

# --- between containers --------------------------------------------------------
expect_eq "web cannot reach db's management port" "nc: timed out" \
    "$(ct_tcp "$web" "${ip4[$db]}" 2222)"
expect_eq "web cannot reach db's server" "nc: timed out" "$(ct_tcp "$web" "${ip4[$db]}" 8080)"
expect_eq "db cannot reach web's management port" "nc: timed out" \
    "$(ct_tcp "$db" "${ip4[$web]}" 2222)"
expect_eq "db cannot reach web over IPv6" "nc: timed out" "$(ct_tcp "$db" "${ip6[$web]}" 2222)"
expect_eq "web cannot ping db" no "$(ct_ping "$web" "${ip4[$db]}")"
expect_eq "db cannot ping web" no "$(ct_ping "$db" "${ip4[$web]}")"

# --- c0 ------------------------------------------------------------------------
expect_eq "net status shows c0's guard as in force" "c0 guard:     up0 (ports: tcp/2222)" \
    "$(cmlsh_run net status 2>&1 | grep '^c0 guard:')"
expect_eq "net status --json: c0's guard" '{"uplinks": ["up0"], "ports": ["tcp/2222"]}' \
    "$(cmlsh_run --json net status | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["c0_guard"]))')"
expect_eq "outside reaches c0's listed port on the guarded uplink" c0:2222 \
    "$(net_tcp "$OUT" 192.0.2.1 2222)"
expect_eq "outside: c0's other port dropped on the guarded uplink" "nc: timed out" \
    "$(net_tcp "$OUT" 192.0.2.1 2223)"
expect_eq "outside: no ping to c0 on the guarded uplink" no "$(net_ping "$OUT" 192.0.2.1)"
expect_eq "c0's own connections out are answered" out:8000 "$(net_tcp "$C0" 192.0.2.2 8000)"
expect_eq "c0 reaches web's management port" web:2222 "$(net_tcp "$C0" "${ip4[$web]}" 2222)"
expect_eq "c0 reaches db's management port" db:2222 "$(net_tcp "$C0" "${ip4[$db]}" 2222)"
expect_eq "c0: web's other port dropped" "nc: timed out" "$(net_tcp "$C0" "${ip4[$web]}" 8080)"
expect_eq "c0: no ping to web" no "$(net_ping "$C0" "${ip4[$web]}")"

# --- stop ----------------------------------------------------------------------
web_link=${c0end[$web]}
_run_tool "container stop $web" "$CMLSH" --socket "$SOCK" container stop "$web"
# the kernel removes the link with the container's namespace: soon after
for ((i = 0; i < 100; i++)); do
	c0_links | grep -q "^$web_link " || break
	sleep 0.05
done
expect_eq "after web's stop: its c0 end $web_link is gone" "" \
    "$(c0_links | grep "^$web_link ")"
expect_eq "after web's stop: one chain left (db's)" 1 "$(ctr_chains | wc -l)"
# nothing forwards port 9080 any more: it is c0's, which its guard drops
expect_eq "after web's stop: the port forward is gone" "nc: timed out" \
    "$(net_tcp "$OUT" 192.0.2.1 9080)"
expect_eq "after web's stop: db still reaches out" out:8001 "$(ct_tcp "$db" 192.0.2.2 8001)"
_run_tool "container stop $db" "$CMLSH" --socket "$SOCK" container stop "$db"
_run_tool "container stop $isl" "$CMLSH" --socket "$SOCK" container stop "$isl"
expect_eq "after the stops: no vc- link in c0's namespace (the kernel removes them with the namespaces)" "" \
    "$(net_vc_links_gone "$C0")"
expect_eq "after the stops: no container's chain, the deny stays" "chain forward drop" \
    "$(chains | grep -e '^chain ctr-' -e '^chain forward ')"

# --- a linked container in a user namespace of its own --------------------------
# its network namespace is the one its clone made (owned by its user
# namespace: its sysfs mounts), set up by cmld while its init waits
usr=$(ct_name usr)
ct_create "$usr" '{"name":"'"$usr"'","guestos":{"name":"busybox"},"linux":{"user_namespace":true},
 "cml":{"network":{"mode":"link",
 "egress":[{"to":"192.0.2.2/32","proto":"tcp","port":8000,"uplink":"up0"}],
 "dns":["192.0.2.53"]}}}'
ct_start "$usr"
expect_eq "$usr (user namespace): eth0 has its pool addresses" 2 "$(ct_addrs "$usr" | grep -c -e '^10\.200\.' -e '^fd00:c41:')"
expect_eq "$usr (user namespace): reaches its egress" out:8000 "$(ct_tcp "$usr" 192.0.2.2 8000)"
expect_eq "$usr (user namespace): another port dropped" "nc: timed out" "$(ct_tcp "$usr" 192.0.2.2 8001)"
expect_eq "$usr (user namespace): reads its resolv.conf" "nameserver 192.0.2.53" \
    "$(ct_exec "$usr" /bin/cat /etc/resolv.conf 2>&1 | grep '^nameserver')"
out=$(ct_exec "$usr" /bin/busybox ip addr add 10.9.9.9/32 dev eth0 2>&1)
expect_match "$usr (user namespace): its root cannot change its addresses" \
    "Operation not permitted" "$out"
_run_tool "container stop $usr" "$CMLSH" --socket "$SOCK" container stop "$usr"
expect_eq "after $usr's stop: no vc- link, no chain" " chain forward drop" \
    "$(net_vc_links_gone "$C0") $(chains | grep -e '^chain ctr-' -e '^chain forward ')"

# the changes, audited with what changed
audit_net() {
	cmlsh_run --json -c 'audit list' | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    if r["type"] in ("network", "container") and r["result"] == "ok":
        print("%s %s %s: %s" % (r["type"], r["container"] or "-", r["object"], r["details"]))' |
	    grep -e "^network " -e "^container $1 "
}
expect_lines "audit: the base ruleset loaded once, web's network set up and taken down" \
    "$(audit_net "$web")" \
    '^network - inet cml: base ruleset loaded: forward policy drop' \
    "^container $web container: network set up: link ${c0end[$web]} \\(c0: ${c0addr[$web]//./\\.}/30 fd00:c41:[0-9a-f:]+/64\\) to eth0 \\(${ip4[$web]//./\\.}/30 ${ip6[$web]}/64\\); chain ctr-$web: 1 egress, 1 forward, 1 management allowances, all else dropped\$" \
    "^container $web container: network taken down: chain ctr-$web removed; link ${c0end[$web]} goes with its namespace\$"

# --- the host ------------------------------------------------------------------
expect_eq "the host's links are as they were" "$host_before" "$(net_host_links)"
expect_eq "the host's table inet cml is as it was" "$host_table_before" \
    "$(nft list table inet cml 2>&1)"

finish
