#!/bin/bash
# Container configs from a signed bundle: every payload NAME.json is the
# config of container NAME.  One bundle creates a new container and
# replaces the config of a stopped one (its signer recorded as the
# bundle's, the history and the floor written in the same transaction);
# refused, each with its reason, audited, and with nothing of the bundle
# stored (all or nothing): a config for a container that runs, a config
# whose guest OS is not installed, a payload whose name is not its
# container's, a version below the floor, more than 8 MiB of configs.
# Proves: COM 06 (signed container configs), TSF.UPD, NDR 3.10, NDR 3.10(1),
# CR 3.4 (all configs of a bundle or none), CR 2.8.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

BUNDLE=$CML_BUILDDIR/provisioning/cml-bundle
[ -x "$BUNDLE" ] || skip "no cml-bundle at $BUNDLE: build first"
ct_setup
db=$(state_dir)/cml.db
pki=$SCRATCH/pki

run() {
	cmlsh_run "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
	rc=$?
}
# bundle_configs OUT VERSION NAME=JSON...: a signed configs bundle "site"
bundle_configs() {
	local out=$1 version=$2 arg
	local -a payloads=()
	shift 2
	mkdir -p "$SCRATCH/cfg-$version"
	for arg in "$@"; do
		printf '%s\n' "${arg#*=}" >"$SCRATCH/cfg-$version/${arg%%=*}.json"
		payloads+=("${arg%%=*}.json=$SCRATCH/cfg-$version/${arg%%=*}.json")
	done
	_run_tool "cml-bundle create" "$BUNDLE" create -o "$out" --kind configs \
	    --name site --version "$version" "${payloads[@]}"
	_run_tool "cml-bundle sign" "$BUNDLE" sign --key "$pki/signer.key" \
	    --cert "$pki/signer.crt" --chain "$pki/chain.pem" "$out"
}
configs_snapshot() {
	sqlite3 "$db" ".timeout 5000" "select name, hex(config), signer, guestos from container order by name"
}
stored_config() {
	sqlite3 "$db" ".timeout 5000" "select config from container where name = '$1'"
}
# expect_refused DESC BUNDLE ERROR REASON-REGEX
expect_refused() {
	local before n0
	before=$(configs_snapshot)
	n0=$(audit_count)
	run update install "$2"
	expect_status "$1: refused" 1 "$rc"
	expect_match "$1: the message" "^cmlsh: update $(re_quote "$2") refused: $4\$" "$(cat "$SCRATCH/err")"
	expect_eq "$1: no container or config changed" "$before" "$(configs_snapshot)"
	audit_last >"$SCRATCH/audit"
	expect_eq "$1: one audit record" "$((n0 + 1))" "$(head -n 1 "$SCRATCH/audit")"
	expect_match "$1: audited with the error" \
	    "object=org\\.cml\\.Update\\.Install result=$(re_quote "$3") details=.*$4" \
	    "$(sed -n 2p "$SCRATCH/audit")"
}

bb='"guestos":{"name":"busybox"}'
c1=$(ct_name upc1)
web=$(ct_name upweb)
new2=$(ct_name upnew2)
ct_create "$c1" '{"name":"'"$c1"'",'"$bb"',"hostname":"one"}'
ct_track "$web"
ct_track "$new2"

# --- one new container, one config replaced ---------------------------------
b1=$SCRATCH/site-1.bundle
bundle_configs "$b1" 1 "$web={\"name\":\"$web\",$bb,\"hostname\":\"web\"}" \
    "$c1={\"name\":\"$c1\",$bb,\"hostname\":\"two\"}"
run --json update info "$b1"
expect_eq "info: kind" configs "$(json_get kind <"$SCRATCH/out")"
expect_eq "info: under the owner anchor" owner "$(json_get signatures 0 anchor_kind <"$SCRATCH/out")"
expect_eq "info: installable" true "$(json_get installable <"$SCRATCH/out")"
run update install "$b1"
expect_status "install site 1" 0 "$rc"
expect_match "the reply" "detail: +1 container created, 1 updated: $web, $c1" "$(cat "$SCRATCH/out")"
expect_eq "the new container" "stopped" "$(ct_state "$web")"
expect_eq "its config as signed" "{\"name\":\"$web\",$bb,\"hostname\":\"web\"}" "$(stored_config "$web")"
expect_eq "the replaced config as signed" "{\"name\":\"$c1\",$bb,\"hostname\":\"two\"}" "$(stored_config "$c1")"
expect_eq "cmld's own view of it" "two" "$(cmlsh_run --json container config "$c1" | json_get config hostname)"
expect_eq "both signed by the bundle's signer" "CN=cml software signer,O=cml
CN=cml software signer,O=cml" \
    "$(sqlite3 "$db" "select signer from container where name in ('$web', '$c1')")"
expect_eq "the history" "configs|site|1|installed" \
    "$(sqlite3 "$db" "select kind, name, version, result from update_history order by id desc limit 1")"
expect_eq "the floor" 1 "$(sqlite3 "$db" "select version from update_floor where kind = 'configs' and name = 'site'")"
expect_match "audited" "object=org\\.cml\\.Update\\.Install result=ok details=installed configs site 1 from .*1 container created, 1 updated" \
    "$(audit_tail 4 | grep 'Update\.Install')"

# --- all or nothing -----------------------------------------------------------
ct_start "$c1"
b2=$SCRATCH/site-2.bundle
bundle_configs "$b2" 2 "$new2={\"name\":\"$new2\",$bb}" \
    "$c1={\"name\":\"$c1\",$bb,\"hostname\":\"three\"}"
expect_refused "a config of a running container" "$b2" org.cml.Error.Busy \
    "container $c1 is running: its config changes only while it is stopped"
expect_eq "the other config of that bundle was not stored" "" \
    "$(sqlite3 "$db" "select name from container where name = '$new2'")"

b3=$SCRATCH/site-3.bundle
bundle_configs "$b3" 3 "$new2={\"name\":\"$new2\",\"guestos\":{\"name\":\"nosuch\"}}"
expect_refused "a guest OS that is not installed" "$b3" org.cml.Error.NotFound \
    "$new2\\.json: guest OS 'nosuch' is not installed"

b4=$SCRATCH/site-4.bundle
bundle_configs "$b4" 4 "$new2={\"name\":\"$web\",$bb}"
expect_refused "a payload named for another container" "$b4" org.cml.Error.InvalidArgument \
    "$new2\\.json holds the config of container $web"

b0=$SCRATCH/site-0.bundle
bundle_configs "$b0" 0.5 "$new2={\"name\":\"$new2\",$bb}"
expect_refused "below the floor" "$b0" org.cml.Error.Downgrade \
    "configs site 0\\.5 is below the version floor 1 .*"

# more configs than one bundle may hold: refused before one is read
big=()
for i in $(seq 1 17); do
	head -c 524288 /dev/zero | tr '\0' ' ' >"$SCRATCH/big$i.json"
	big+=("big$i.json=$SCRATCH/big$i.json")
done
_run_tool "cml-bundle create" "$BUNDLE" create -o "$SCRATCH/big.bundle" --kind configs \
    --name site --version 9 "${big[@]}"
_run_tool "cml-bundle sign" "$BUNDLE" sign --key "$pki/signer.key" \
    --cert "$pki/signer.crt" --chain "$pki/chain.pem" "$SCRATCH/big.bundle"
expect_refused "more than 8 MiB of configs" "$SCRATCH/big.bundle" org.cml.Error.InvalidArgument \
    "the configs of a bundle are 8912896 bytes, more than the 8 MiB one bundle may hold"

finish
