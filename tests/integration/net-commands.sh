#!/bin/bash
# The network commands an operator reads (container net show, net status,
# net rules), human and --json, with cmld in a network namespace this test
# makes (cmld's namespace is c0's: its links and its table inet cml live
# there, never in the host's).  On a fresh stack nothing links yet: net
# status says the base ruleset is not loaded and net rules shows an empty
# table, as `nft -j list table inet cml` in that namespace finds none.  An
# island container: mode island, no link, no rules, its namespace holds
# only lo, and it needs no table.  An unknown name: NotFound.  A linked
# container with one egress allowance: its link's ends and addresses (the
# pool's /30 of its index) as `ip -j addr` shows them on both sides, its
# rules as the kernel has them (handles, comments and expressions in nft's
# words compared with nft's own listing), net status counting its segment
# and its rules with the base ruleset loaded, net rules agreeing with nft
# chain by chain, each rule's line that of `nft -a list` (counters aside).  Once it stopped: no
# link, no rules, no segment.
# Proves: NDR 5.2 (the flows a container is allowed are shown as the rules
# in force, read back from the kernel, in nft's words), CR 5.1 (the
# segments and the default-deny base ruleset of the container links are
# visible to an operator, as nft itself lists them)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_prog ip nft nsenter python3
make_scratch

NS=cmlnc-$$
# the namespace goes at exit whatever happens; what still runs in it keeps
# it alive until it ends
ns_del() {
	ip netns del "$NS" 2>/dev/null
	return 0
}
trap 'st=$?; ns_del; (exit $st); cleanup' EXIT
ip netns add "$NS" || fail "cannot make network namespace $NS"
ip -n "$NS" link set lo up || fail "cannot set lo up in $NS"
# the uplink the egress allowance names: one end of a veth pair whose other
# end stays in the namespace too
ip -n "$NS" link add up0 type veth peer name up0-far || fail "cannot make up0 in $NS"
ip -n "$NS" link set up0 up
CML_TEST_WRAP="nsenter --net=/run/netns/$NS"
NL=$'\n'
TAB=$'\t'

ct_setup
trap 'st=$?; ns_del; (exit $st); ct_exit' EXIT

# cmld runs in the test's namespace, not in the host's
expect_eq "cmld runs in $NS" "$(stat -L -c %i "/run/netns/$NS")" \
    "$(stat -L -c %i "/proc/$(cmld_pid)/ns/net")"

# nft's view of cmld's table, as JSON ('{}' when there is none)
nft_table() {
	nsenter --net="/run/netns/$NS" nft -j list table inet cml 2>/dev/null || echo '{}'
}

# Compares `net rules --json` ($1) with nft's table ($2): the same chains
# in order, each with its hook, priority and policy, and the same rules
# (handle and comment) in order.  Prints "same" or what differs.
rules_vs_nft() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
ours = json.loads(sys.argv[1])
nft = json.loads(sys.argv[2]).get("nftables", [])
chains, rules = [], {}
for o in nft:
    if "chain" in o:
        c = o["chain"]
        chains.append((c["name"], c.get("hook"), c.get("prio"),
                       c.get("policy")))
        rules[c["name"]] = []
for o in nft:
    if "rule" in o:
        r = o["rule"]
        rules[r["chain"]].append((r["handle"], r.get("comment")))
mine = [(c["name"], c.get("hook"), c.get("priority"), c.get("policy"))
        for c in ours["chains"]]
myrules = {c["name"]: [(r["handle"], r["comment"]) for r in c["rules"]]
           for c in ours["chains"]}
if ours["table"] != "inet cml":
    print("table %r" % ours["table"])
elif mine != chains:
    print("chains: ours %r, nft %r" % (mine, chains))
elif myrules != rules:
    print("rules: ours %r, nft %r" % (myrules, rules))
else:
    print("same")
EOF
}

# --- a fresh stack: no links -------------------------------------------------
out=$(cmlsh_run --json net status 2>"$SCRATCH/err")
expect_status "net status --json" 0 $?
expect_eq "net status --json: nothing on stderr" "" "$(cat "$SCRATCH/err")"
status0=$out
# nothing links yet: cmld loads its base ruleset before the first link
nft0=$(nft_table)
expect_eq "no table inet cml in the kernel on a fresh stack" '{}' "$nft0"
expect_eq "net status --json on a fresh stack" \
"loaded=false
table=inet cml
pool=10.200.0.0/16 fd00:c41::/48 used=0
masquerade=[]
c0_guard={\"uplinks\": [], \"ports\": []}
segments=[]
interfaces=[]" "$(python3 - "$status0" <<'EOF'
import json, sys
s = json.loads(sys.argv[1])
b, p = s["base_ruleset"], s["pool"]
print("loaded=%s" % ("true" if b["loaded"] else "false"))
print("table=%s" % b["table"])
print("pool=%s %s used=%d" % (p["v4"], p["v6"], p["used"]))
print("masquerade=%s" % json.dumps(s["masquerade"]))
print("c0_guard=%s" % json.dumps(s["c0_guard"]))
print("segments=%s" % json.dumps(s["segments"]))
print("interfaces=%s" % json.dumps(s["interfaces"]))
EOF
)"
size0=$(printf '%s' "$status0" | json_get pool size)
expect_match "net status: the pool's room" '^[1-9][0-9]*$' "$size0"
out=$(cmlsh_run net status 2>"$SCRATCH/err")
expect_status "net status" 0 $?
expect_eq "net status, human, on a fresh stack" \
"base ruleset: not loaded (table inet cml)
pool:         10.200.0.0/16, fd00:c41::/48: 0 of $size0 links in use
masquerade:   -
c0 guard:     -
interfaces:   -
segments:     0" "$out"

out=$(cmlsh_run --json net rules 2>"$SCRATCH/err")
expect_status "net rules --json on a fresh stack" 0 $?
expect_eq "net rules --json is nft's table on a fresh stack" same \
    "$(rules_vs_nft "$out" "$nft0")"
out=$(cmlsh_run net rules 2>"$SCRATCH/err")
expect_status "net rules on a fresh stack" 0 $?
expect_eq "net rules on a fresh stack: nothing needs the table yet" \
"table inet cml {
}" "$out"

# --- an unknown container ----------------------------------------------------
out=$(cmlsh_run container net show nosuch-$$ 2>&1)
expect_status "container net show of an unknown name" 1 $?
expect_eq "container net show of an unknown name: the error" \
    "cmlsh: no container 'nosuch-$$': 'container list' shows them" "$out"
out=$(cmlsh_run --json container net show nosuch-$$ 2>/dev/null)
expect_eq "container net show --json of an unknown name: NotFound" \
    "org.cml.Error.NotFound" "$(printf '%s' "$out" | json_get error)"

# --- an island container -------------------------------------------------------
isl=$(ct_name isl)
ct_create "$isl" '{"name":"'"$isl"'","guestos":{"name":"busybox"}}'
out=$(cmlsh_run container net show "$isl" 2>"$SCRATCH/err")
expect_status "container net show (island, stopped)" 0 $?
expect_eq "container net show (island, stopped)" \
"name:       $isl
mode:       island
running:    no
link:       none (only lo)
dns:        -
interfaces: -
rules:      none in force" "$out"
ct_start "$isl"
out=$(cmlsh_run --json container net show "$isl" 2>"$SCRATCH/err")
expect_status "container net show --json (island, running)" 0 $?
expect_eq "container net show --json (island, running)" \
    '{"name": "'"$isl"'", "mode": "island", "running": true, "link": null, "dns": [], "interfaces": [], "rules": []}' \
    "$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])))' "$out")"
expect_eq "net status: an island container needs no table" "loaded=False segments=[]" \
    "$(cmlsh_run --json net status | python3 -c 'import json,sys
s = json.load(sys.stdin)
print("loaded=%s segments=%s" % (s["base_ruleset"]["loaded"], json.dumps(s["segments"])))')"
ipid=$(ct_show "$isl" pid)
expect_eq "the island container's namespace holds only lo" lo \
    "$(nsenter --net="/proc/$ipid/ns/net" ip -j link show | python3 -c 'import json,sys; print(" ".join(l["ifname"] for l in json.load(sys.stdin)))')"
out=$(cmlsh_run container net show "$isl" 2>"$SCRATCH/err")
expect_eq "container net show (island, running): no link, no rules" \
"mode:       island
running:    yes
link:       none (only lo)
rules:      none in force" "$(printf '%s\n' "$out" | grep -e '^mode:' -e '^running:' -e '^link:' -e '^rules:')"

# --- a linked container ----------------------------------------------------------
web=$(ct_name web)
ct_create "$web" '{"name":"'"$web"'","guestos":{"name":"busybox"},"cml":{"network":{"mode":"link","egress":[{"to":"192.0.2.0/24","proto":"tcp","port":80,"uplink":"up0"}]}}}'
ct_start "$web"
show=$(cmlsh_run --json container net show "$web" 2>"$SCRATCH/err")
expect_status "container net show --json (linked)" 0 $?
c0_end=$(printf '%s' "$show" | json_get link c0_end)
expect_match "the link's c0 end is vc-INDEX" '^vc-[0-9]+$' "$c0_end"
idx=${c0_end#vc-}
# the pool 10.200.0.0/16 gives index i the i-th /30: c0 .1, the container .2
a=$((idx * 4))
c0_v4=10.200.$((a / 256)).$((a % 256 + 1))/30
ctr_v4=10.200.$((a / 256)).$((a % 256 + 2))/30
expect_eq "container net show --json (linked): mode, ends, IPv4" \
"mode=link running=True
c0_end=$c0_end container_end=eth0
c0_v4=$c0_v4 v4=$ctr_v4" "$(python3 - "$show" <<'EOF'
import json, sys
s = json.loads(sys.argv[1])
l = s["link"]
v4 = lambda a: [x for x in a if ":" not in x]
print("mode=%s running=%s" % (s["mode"], s["running"]))
print("c0_end=%s container_end=%s" % (l["c0_end"], l["container_end"]))
print("c0_v4=%s v4=%s" % (" ".join(v4(l["c0_addresses"])),
                          " ".join(v4(l["addresses"]))))
EOF
)"
# the addresses as the kernel has them, on both sides
ip_addrs() {
	python3 -c 'import json,sys
print(" ".join(sorted("%s/%d" % (a["local"], a["prefixlen"])
    for l in json.load(sys.stdin) for a in l.get("addr_info", [])
    if a.get("scope") == "global")))'
}
wpid=$(ct_show "$web" pid)
expect_eq "c0's end: the addresses shown are the kernel's" \
    "$(ip -n "$NS" -j addr show dev "$c0_end" | ip_addrs)" \
    "$(printf '%s' "$show" | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["link"]["c0_addresses"])))')"
expect_eq "the container's end: the addresses shown are the kernel's" \
    "$(nsenter --net="/proc/$wpid/ns/net" ip -j addr show dev eth0 | ip_addrs)" \
    "$(printf '%s' "$show" | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["link"]["addresses"])))')"
expect_match "c0's end holds $c0_v4" "(^| )$(re_quote "$c0_v4")( |\$)" \
    "$(ip -n "$NS" -j addr show dev "$c0_end" | ip_addrs)"

# the rules in force: the base chains' jumps to its chain (their comments
# name it), then its chain, as in nft's table, handle for handle
nft1=$(nft_table)
expect_eq "container net show: its rules are its jumps and its chain's in the kernel" same \
    "$(python3 - "$show" "$nft1" "ctr-$web" <<'EOF'
import json, sys
mine = [(r["chain"], r["handle"], r["comment"])
        for r in json.loads(sys.argv[1])["rules"]]
nft = [(o["rule"]["chain"], o["rule"]["handle"], o["rule"].get("comment"))
       for o in json.loads(sys.argv[2]).get("nftables", [])
       if "rule" in o and (o["rule"]["chain"] == sys.argv[3] or
       (o["rule"].get("comment") or "").startswith(sys.argv[3] + ":"))]
jumps = [r for r in mine if r[0] != sys.argv[3]]
print("same" if sorted(mine) == sorted(nft) and mine and jumps
      else "ours %r, nft %r" % (mine, nft))
EOF
)"
expect_eq "container net show: the egress allowance is in force" 1 \
    "$(python3 -c 'import json,sys,re
print(sum(1 for r in json.loads(sys.argv[1])["rules"]
          if re.search(r"egress 192\.0\.2\.0/24 tcp/80 via up0$", r["comment"] or "")))' "$show")"
nrules=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["rules"]))' "$show")

out=$(cmlsh_run container net show "$web" 2>"$SCRATCH/err")
expect_status "container net show (linked)" 0 $?
expect_eq "container net show (linked): the head" \
"name:          $web
mode:          link
running:       yes" "$(printf '%s\n' "$out" | head -n 3)"
expect_match "container net show (linked): c0's end" \
    "${NL}c0 end: +$c0_end $(re_quote "$c0_v4")(, [0-9a-f:]+/[0-9]+)?$NL" "$out"
expect_match "container net show (linked): the container's end" \
    "${NL}container end: +eth0 $(re_quote "$ctr_v4")(, [0-9a-f:]+/[0-9]+)?$NL" "$out"
expect_match "container net show (linked): the rules' count, then a base chain" \
    "${NL}rules: +$nrules in force$NL${TAB}chain forward \\{$NL" "$out"
expect_match "container net show (linked): its own chain" \
    "$NL${TAB}chain ctr-$web \\{$NL" "$out"
expect_eq "container net show (linked): one line per rule, ending in its handle" \
    "$nrules" "$(printf '%s\n' "$out" | grep -c "^$TAB$TAB[^$TAB].* # handle [0-9][0-9]*\$")"
# an allowance is shown as the rule nft lists, in nft's words
expect_match "container net show (linked): the egress rule in nft's words" \
    "$NL$TAB${TAB}iifname \"$c0_end\" oifname \"up0\" ip daddr 192\\.0\\.2\\.0/24 tcp dport 80 accept comment \"ctr-$web: egress 192\\.0\\.2\\.0/24 tcp/80 via up0\" # handle [0-9]+$NL" "$out"
expect_match "container net show (linked): the jump from the forward chain" \
    "$NL${TAB}chain forward \\{$NL$TAB${TAB}iifname \"$c0_end\" jump ctr-$web comment \"ctr-$web: from $c0_end\" # handle [0-9]+$NL" "$out"
expect_match "container net show (linked): its chain's last rule counts and drops" \
    "$NL$TAB${TAB}counter packets [0-9]+ bytes [0-9]+ drop comment \"ctr-$web: everything else\" # handle [0-9]+$NL$TAB\\}\$" "$out"

# net status counts the segment, and its rules
status1=$(cmlsh_run --json net status 2>"$SCRATCH/err")
expect_status "net status --json (one link)" 0 $?
expect_eq "net status --json (one link)" \
"loaded=True used=1
$web $c0_end eth0 $c0_v4 $ctr_v4 rules=$nrules" "$(python3 - "$status1" <<'EOF'
import json, sys
s = json.loads(sys.argv[1])
print("loaded=%s used=%d" % (s["base_ruleset"]["loaded"], s["pool"]["used"]))
for g in s["segments"]:
    v4 = lambda a: " ".join(x for x in a if ":" not in x)
    print("%s %s %s %s %s rules=%d" % (g["container"], g["c0_end"],
          g["container_end"], v4(g["c0_addresses"]), v4(g["addresses"]),
          g["rules"]))
EOF
)"
out=$(cmlsh_run net status 2>"$SCRATCH/err")
expect_status "net status (one link)" 0 $?
expect_match "net status (one link): base ruleset loaded" \
    "^base ruleset: loaded \\(table inet cml\\)$NL" "$out"
expect_match "net status (one link): pool use" \
    "${NL}pool: +10\\.200\\.0\\.0/16, fd00:c41::/48: 1 of $size0 links in use$NL" "$out"
expect_match "net status (one link): one segment" \
    "${NL}segments: +1$NL${NL}CONTAINER +C0 END +C0 ADDRESSES +CONTAINER END +ADDRESSES +RULES$NL" "$out"
expect_match "net status (one link): the segment's line" \
    "$NL$web +$c0_end +$(re_quote "$c0_v4")(, [0-9a-f:]+/[0-9]+)? +eth0 +$(re_quote "$ctr_v4")(, [0-9a-f:]+/[0-9]+)? +$nrules\$" "$out"

# net rules: nft's table, with the container's chain in it
rules1=$(cmlsh_run --json net rules 2>"$SCRATCH/err")
expect_status "net rules --json (one link)" 0 $?
expect_eq "net rules --json (one link) is nft's table" same \
    "$(rules_vs_nft "$rules1" "$(nft_table)")"
out=$(cmlsh_run net rules 2>"$SCRATCH/err")
expect_status "net rules (one link)" 0 $?
expect_match "net rules: a base chain's hook, priority and policy" \
    "$NL${TAB}chain [a-z0-9-]+ \\{$NL$TAB${TAB}hook forward priority -?[0-9]+; policy drop;$NL" "$out"
expect_match "net rules: the container's chain, regular (no hook), its rules" \
    "$NL${TAB}chain ctr-$web \\{$NL$TAB${TAB}ct state established,related accept comment \"ctr-$web: established, related\" # handle [0-9]+$NL" "$out"
nrules1=$(python3 -c 'import json,sys; print(sum(len(c["rules"]) for c in json.loads(sys.argv[1])["chains"]))' "$rules1")
expect_eq "net rules: one line per rule, ending in its handle" "$nrules1" \
    "$(printf '%s\n' "$out" | grep -c "^$TAB$TAB[^$TAB].* # handle [0-9][0-9]*\$")"
# the rules in force, as an operator reads them, are what nft itself
# lists from the kernel
expect_eq "net rules --json: each rule's expressions are nft's listing" \
    "same $nrules1" "$(net_rules_vs_nft "$NS" "$rules1")"
# nft -a's rule lines and net rules' are the same lines (counters aside)
nft_lines() {
	sed -E -e '/^[[:space:]]*(table|chain) /d' \
	    -e 's/counter packets [0-9]+ bytes [0-9]+/counter/' \
	    -e 's/^[[:space:]]+//' | grep ' # handle [0-9][0-9]*$'
}
expect_eq "net rules: each rule's line is nft -a's" \
    "$(nsenter --net="/run/netns/$NS" nft -a list table inet cml | nft_lines)" \
    "$(printf '%s\n' "$out" | nft_lines)"
expect_eq "container net show --json: its rules are net rules' (expressions too)" same \
    "$(python3 - "$show" "$rules1" <<'EOF'
import json, re, sys
mine = [(r["chain"], r["handle"], r["comment"], r["expr"], r["raw"])
        for r in json.loads(sys.argv[1])["rules"]]
table = {(c["name"], r["handle"]): (c["name"], r["handle"], r["comment"],
                                    r["expr"])
         for c in json.loads(sys.argv[2])["chains"] for r in c["rules"]}
# counters aside: the two were read at different times
strip = lambda t: tuple(re.sub(r"counter packets [0-9]+ bytes [0-9]+",
                               "counter", x) if isinstance(x, str) else x
                        for x in t)
bad = [m for m in mine if strip(table.get(m[:2], ())) != strip(m[:4]) or
       not m[4].startswith("[ ")]
print("same" if mine and not bad else "differ: %r" % bad[:2])
EOF
)"
expect_eq "net rules: the table's end" "}" "$(printf '%s\n' "$out" | tail -n 1)"
# the island container is in none of it
expect_eq "net status: the island container has no segment" "" \
    "$(printf '%s\n' "$status1" | grep -F "\"$isl\"")"

# --- once stopped: no link, no rules, no segment -------------------------------------
cmlsh_run container stop "$web" >/dev/null 2>&1
expect_status "container stop $web" 0 $?
out=$(cmlsh_run --json container net show "$web" 2>"$SCRATCH/err")
expect_eq "container net show after the stop: no link, no rules" \
    "running=False link=None rules=[]" "$(python3 -c 'import json,sys
s = json.loads(sys.argv[1])
print("running=%s link=%s rules=%s" % (s["running"], s["link"], s["rules"]))' "$out")"
expect_eq "net status after the stop: no segment" "used=0 segments=[]" \
    "$(python3 -c 'import json,sys
s = json.loads(sys.argv[1])
print("used=%d segments=%s" % (s["pool"]["used"], json.dumps(s["segments"])))' "$(cmlsh_run --json net status)")"
expect_eq "the link is gone from c0's namespace" "" \
    "$(ip -n "$NS" -o link show dev "$c0_end" 2>/dev/null)"

finish
