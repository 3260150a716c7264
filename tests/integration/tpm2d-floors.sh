#!/bin/bash
# Version floors in the TPM, through the real tpm2d on a real swtpm.
# Floors answers available with no floors before the first RaiseFloor, and
# the TPM holds no index yet.  RaiseFloor raises (none -> 1.2 -> 1.10, as
# numbers), and never lowers: a lower or equal version answers raised
# false with the floor as it is.  tpm2-tools then read the NV index at
# 0x01800f10 (tpm2d stopped: swtpm serves one client): its attributes
# (ownerwrite|writeall|ownerread|authread|no_da, 1024 bytes, sha256) and
# its raw bytes, compared with a table this test builds itself from
# SHA-256("KIND/NAME").  The floors are still there after a restart of
# tpm2d, and with a fresh state directory of tpm2d on the same swtpm (the
# TPM holds them, no file).  Names until the table is full (42 floors in
# 1024 bytes): the next is refused with FloorTableFull, every floor stays
# as it was (raw bytes again), a floor it holds still rises.  Bad kind,
# name and version are refused with InvalidArgument naming the parameter,
# and nothing changes.  Raised and refused floors are audited (TakeAudit).
# An index of another at the handle is left alone (FloorUnavailable, its
# bytes unchanged); a TPM without room in its NV refuses to define the
# index: RaiseFloor fails with the TPM's reason, and Floors says it then;
# an owner hierarchy disabled is said too.
# Proves: TSF.UPD, NDR 3.10 (a version floor per update kind that never
# goes down and survives a restored database and state directory, kept in
# the TPM).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_prog swtpm python3 tpm2_nvreadpublic tpm2_nvread tpm2_nvdefine \
    tpm2_getcap tpm2_hierarchycontrol
[ -x "$CML_BUILDDIR/daemon/tpm2d/tpm2d" ] ||
    skip "no tpm2d at $CML_BUILDDIR/daemon/tpm2d/tpm2d: build first (or set CML_BUILDDIR)"
make_scratch
# ESYS prints the TPM errors this test provokes on purpose.
export TSS2_LOG=all+none
INDEX=0x01800f10

swtpm_start "$SCRATCH/tpm"
export TPM2TOOLS_TCTI=$SWTPM_TCTI
tpm2d_up --seal-pcrs 16 || fail "tpm2d did not start"

# raise KIND NAME VERSION: "VERSION RAISED" of RaiseFloor's reply.
raise() {
	tpm2d_params org.cml.TPM.RaiseFloor \
	    "{\"kind\": \"$1\", \"name\": \"$2\", \"version\": \"$3\"}" |
	    python3 -c 'import json, sys
p = json.load(sys.stdin)
print(p["version"], str(p["raised"]).lower())'
}

# floors: Floors' reply in one line: "available capacity index reason" then
# "key=version" of each floor, sorted.
floors() {
	tpm2d_params org.cml.TPM.Floors | python3 -c 'import json, sys
p = json.load(sys.stdin)
print(str(p["available"]).lower(), p["capacity"], p["index"],
      p.get("reason", "-"), *sorted("%s=%s" % (f["key"], f["version"])
                                    for f in p["floors"]))'
}

# keys KIND/NAME=VERSION...: the line floors prints for those floors,
# each key computed here (first 8 bytes of SHA-256("KIND/NAME")).
keys() {
	python3 - "$@" <<'PY'
import hashlib, sys
print("true 42 0x01800f10 -", *sorted(
    "%s=%s" % (hashlib.sha256(a.split("=")[0].encode()).hexdigest()[:16],
               a.split("=")[1]) for a in sys.argv[1:]))
PY
}

# table KIND/NAME=VERSION...: the index's 1024 bytes as floor.h lays them
# out, as hex, built here.
table() {
	python3 - "$@" <<'PY'
import hashlib, struct, sys
entries = []
for a in sys.argv[1:]:
    obj, version = a.split("=")
    parts = [int(x) for x in version.split(".")] + [0, 0, 0]
    entries.append(hashlib.sha256(obj.encode()).digest()[:8] +
                   struct.pack(">4I", *parts[:4]))
t = b"CMLF" + bytes([1, 0]) + struct.pack(">H", len(entries)) + \
    b"".join(sorted(entries))
print((t + bytes(1024 - len(t))).hex())
PY
}

# nv_hex: the index's bytes as hex, read by tpm2-tools (tpm2d stopped).
nv_hex() {
	tpm2_nvread -C o "$INDEX" 2>/dev/null | od -An -v -tx1 | tr -d ' \n'
	echo
}

# audit: the floor records and the RaiseFloor calls of TakeAudit, one line
# each: "TYPE OBJECT RESULT DETAILS" (the call's uid and pid left out).
audit() {
	tpm2d_params org.cml.TPM.TakeAudit | python3 -c 'import json, re, sys
for r in json.load(sys.stdin)["records"]:
    if r["type"] == "floor" or r["object"] == "org.cml.TPM.RaiseFloor":
        print(r["type"], r["object"], r["result"],
              re.sub(r"^uid \d+ pid \d+: ", "", r["details"]))'
}

# --- before the first floor: available, nothing in the TPM -----------------
expect_eq "before the first RaiseFloor: available, room for 42, no floors" \
    "true 42 $INDEX -" "$(floors)"
tpm2d_down
expect_eq "the TPM holds no floor index before the first RaiseFloor" "" \
    "$(tpm2_getcap handles-nv-index | grep -i 0x1800f10)"
tpm2d_up --seal-pcrs 16 || fail "tpm2d did not start again"

# --- raise, never lower -----------------------------------------------------
expect_eq "the first floor of guestos/core" "1.2 true" "$(raise guestos core 1.2)"
expect_eq "a lower version leaves it" "1.2 false" "$(raise guestos core 1.1)"
expect_eq "the same version (1.2.0) leaves it" "1.2 false" "$(raise guestos core 1.2.0)"
expect_eq "1.10 is above 1.2 (numbers, not text)" "1.10 true" "$(raise guestos core 1.10)"
expect_eq "1.9 is below 1.10" "1.10 false" "$(raise guestos core 1.9)"
expect_eq "another kind, another floor" "3.0.1 true" "$(raise cml cml 3.0.1)"
expect_eq "the same name under another kind is apart" "7 true" "$(raise configs core 7)"
expect_eq "Floors lists the three, each key SHA-256(KIND/NAME)" \
    "$(keys guestos/core=1.10 cml/cml=3.0.1 configs/core=7)" "$(floors)"
expect_lines "raised floors are audited, old -> new; a kept one in its call" \
    "$(audit)" \
    "^floor floor index ok defined the floor index at 0x01800f10 \(1024 bytes, room for 42 floors\)$" \
    "^floor guestos/core ok floor raised: none -> 1.2$" \
    "^call org.cml.TPM.RaiseFloor ok guestos/core: floor raised: none -> 1.2$" \
    "^call org.cml.TPM.RaiseFloor ok guestos/core: floor stays at 1.2 \(asked 1.1\)$" \
    "^call org.cml.TPM.RaiseFloor ok guestos/core: floor stays at 1.2 \(asked 1.2.0\)$" \
    "^floor guestos/core ok floor raised: 1.2 -> 1.10$" \
    "^call org.cml.TPM.RaiseFloor ok guestos/core: floor raised: 1.2 -> 1.10$" \
    "^call org.cml.TPM.RaiseFloor ok guestos/core: floor stays at 1.10 \(asked 1.9\)$" \
    "^floor cml/cml ok floor raised: none -> 3.0.1$" \
    "^call org.cml.TPM.RaiseFloor ok cml/cml: floor raised: none -> 3.0.1$" \
    "^floor configs/core ok floor raised: none -> 7$" \
    "^call org.cml.TPM.RaiseFloor ok configs/core: floor raised: none -> 7$"

# --- the index, as tpm2-tools read it ----------------------------------------
tpm2d_down
pub=$(tpm2_nvreadpublic "$INDEX" 2>&1)
expect_match "the index's attributes: only the owner writes, whole; written" \
    "friendly: ownerwrite\|writeall\|ownerread\|authread\|no_da\|written"$'\n' "$pub"
expect_match "the index has 1024 bytes (swtpm's TPM2_PT_NV_BUFFER_MAX)" \
    "size: 1024$" "$pub"
expect_match "its name algorithm is sha256" "friendly: sha256"$'\n' "$pub"
expect_eq "its bytes are the table: header, entries by key, zeros" \
    "$(table guestos/core=1.10 cml/cml=3.0.1 configs/core=7)" "$(nv_hex)"

# --- restarts: the TPM holds the floors ---------------------------------------
tpm2d_up --seal-pcrs 16 || fail "tpm2d did not restart"
expect_eq "after a restart of tpm2d the floors are there" \
    "$(keys guestos/core=1.10 cml/cml=3.0.1 configs/core=7)" "$(floors)"
tpm2d_down
STACK_DIR=$SCRATCH/fresh
TPM2D_SOCK=$STACK_DIR/run/cml/tpm2d.sock
tpm2d_up --seal-pcrs 16 || fail "tpm2d did not start on a fresh state directory"
expect_eq "a fresh state directory of tpm2d, the same TPM: the floors are there" \
    "$(keys guestos/core=1.10 cml/cml=3.0.1 configs/core=7)" "$(floors)"
expect_eq "and they still only rise" "1.10 false" "$(raise guestos core 1.3)"

# --- bad input -----------------------------------------------------------------
# bad PARAMS: "ERROR NAME PARAMETER: MESSAGE" of RaiseFloor's error reply.
bad() {
	tpm2d_call org.cml.TPM.RaiseFloor "$1" | python3 -c 'import json, sys
m = json.load(sys.stdin)
p = m.get("parameters", {})
print("ERROR %s %s: %s" % (m.get("error"), p.get("parameter"), p.get("message")))'
}
NAME_RULE="1 to 64 of a-z, 0-9, '.', '_' and '-', the first a letter or digit"
VERSION_RULE="1 to 4 numbers joined by dots, without leading zeros, each at most 999999999 (such as 1.2.3)"
expect_eq "an unknown kind" \
    "ERROR org.cml.Error.InvalidArgument kind: kind must be one of guestos, configs, cml and boot, not 'kernel'" \
    "$(bad '{"kind": "kernel", "name": "core", "version": "2"}')"
expect_eq "an empty kind" \
    "ERROR org.cml.Error.InvalidArgument kind: kind must be one of guestos, configs, cml and boot, not ''" \
    "$(bad '{"kind": "", "name": "core", "version": "2"}')"
expect_eq "a name with a capital" \
    "ERROR org.cml.Error.InvalidArgument name: name must be $NAME_RULE, not 'Core'" \
    "$(bad '{"kind": "guestos", "name": "Core", "version": "2"}')"
expect_eq "a name with a slash" \
    "ERROR org.cml.Error.InvalidArgument name: name must be $NAME_RULE, not '../core'" \
    "$(bad '{"kind": "guestos", "name": "../core", "version": "2"}')"
long=$(printf 'a%.0s' {1..65})
expect_eq "a name of 65 characters" \
    "ERROR org.cml.Error.InvalidArgument name: name must be $NAME_RULE, not '$long'" \
    "$(bad "{\"kind\": \"guestos\", \"name\": \"$long\", \"version\": \"2\"}")"
for v in 1.02 1.2.3.4.5 1000000000 "" v1 1..2 "1.2 "; do
	expect_eq "version '$v'" \
	    "ERROR org.cml.Error.InvalidArgument version: version must be $VERSION_RULE, not '$v'" \
	    "$(bad "{\"kind\": \"guestos\", \"name\": \"core\", \"version\": \"$v\"}")"
done
expect_eq "a version that is no string" \
    "ERROR org.varlink.service.InvalidParameter version: 'version' must be a string" \
    "$(bad '{"kind": "guestos", "name": "core", "version": 3}')"
expect_eq "a missing name" \
    "ERROR org.varlink.service.InvalidParameter name: missing parameter 'name'" \
    "$(bad '{"kind": "guestos", "version": "3"}')"
expect_eq "refused input changed nothing" \
    "$(keys guestos/core=1.10 cml/cml=3.0.1 configs/core=7)" "$(floors)"
expect_match "refused input is audited with its reason" \
    "call org.cml.TPM.RaiseFloor org.cml.Error.InvalidArgument name must be .*, not '\.\./core'" \
    "$(audit)"

# --- until the table is full -----------------------------------------------------
# 39 more floors make 42; the 43rd name finds no room.
VARLINK_PY=$VARLINK_PY python3 - "$TPM2D_SOCK" <<'PY' >"$SCRATCH/fill.out"
import os, sys
sys.path.insert(0, os.path.dirname(os.environ["VARLINK_PY"]))
import varlink
c = varlink.Connection(sys.argv[1], 30)
for i in range(40):
    r = c.call("org.cml.TPM.RaiseFloor",
               {"kind": "guestos", "name": "os%d" % i, "version": "1.%d" % i})
    print(i, r.get("error", ""), r.get("parameters", {}).get("raised"),
          r.get("parameters", {}).get("message", ""))
PY
FULL=(guestos/core=1.10 cml/cml=3.0.1 configs/core=7)
# as Floors says them: 1.0 is "1"
FULL+=(guestos/os0=1)
for ((i = 1; i < 39; i++)); do
	FULL+=("guestos/os$i=1.$i")
done
expect_eq "39 more floors raised" 39 "$(grep -c '^[0-9]* .* True' "$SCRATCH/fill.out")"
expect_eq "the 43rd floor finds the table full" \
    "39 org.cml.TPM.FloorTableFull None the TPM's floor index holds 42 floors: it has no room for guestos/os39 and keeps the old ones; that floor is kept in cmld's database only" \
    "$(sed -n 40p "$SCRATCH/fill.out")"
expect_eq "a full table: Floors lists the 42, each as it was" \
    "$(keys "${FULL[@]}")" "$(floors)"
expect_eq "a full table still raises a floor it holds" "3.1 true" "$(raise cml cml 3.1)"
FULL[1]=cml/cml=3.1
expect_match "the refusal is audited" \
    "floor guestos/os39 refused cannot raise the floor to 1.39: the TPM's floor index holds 42 floors" \
    "$(audit)"
tpm2d_down
expect_eq "the index's bytes: the 42 floors, guestos/os39 not among them" \
    "$(table "${FULL[@]}")" "$(nv_hex)"

# unavailable WHAT REASON: Floors says the floors are not available and
# why, and RaiseFloor is refused with FloorUnavailable and the same reason.
unavailable() {
	expect_eq "$1: Floors says it is not available, and why" \
	    "false 0 $INDEX $2" "$(floors)"
	expect_eq "$1: RaiseFloor is refused" \
	    "ERROR org.cml.TPM.FloorUnavailable None: $2" \
	    "$(bad '{"kind": "guestos", "name": "core", "version": "9"}')"
}

# --- a table this tpm2d cannot read: left as it is ---------------------------------
python3 -c 'import sys
sys.stdout.buffer.write(b"CMLF\x02\x00\x00\x00" + bytes(1016))' >"$SCRATCH/format2"
tpm2_nvwrite -C o -i "$SCRATCH/format2" "$INDEX" >/dev/null 2>&1 ||
    fail "cannot write a table of format 2 into the index"
tpm2d_up --seal-pcrs 16 || fail "tpm2d did not start again"
UNREAD="the floor index at 0x01800f10 holds no floor table this tpm2d can read (format 2, which this tpm2d does not know (it reads and writes format 1)): it is left as it is, and the floors are kept in cmld's database only"
unavailable "a table of a newer format" "$UNREAD"
tpm2d_down
expect_eq "the table of a newer format is left as it was" \
    "434d4c4602000000$(printf '0%.0s' {1..2032})" "$(nv_hex)"

# --- an index of another at the handle ----------------------------------------------
swtpm_start "$SCRATCH/tpm2"
export TPM2TOOLS_TCTI=$SWTPM_TCTI
tpm2_nvdefine -C o -s 64 -a "ownerwrite|ownerread" "$INDEX" >/dev/null 2>&1 ||
    fail "cannot define an index at $INDEX in the second swtpm"
printf 'not a floor table' | tpm2_nvwrite -C o -i - "$INDEX" >/dev/null 2>&1 ||
    fail "cannot write the index in the second swtpm"
before=$(tpm2_nvread -C o -s 17 "$INDEX" 2>/dev/null)
STACK_DIR=$SCRATCH/other
TPM2D_SOCK=$STACK_DIR/run/cml/tpm2d.sock
tpm2d_up --seal-pcrs 16 || fail "tpm2d did not start on the second swtpm"
OTHER="the TPM's NV index at 0x01800f10 is not cml's floor index (attributes 0x20020002, 64 bytes; cml's has 0x02061002, 32 to 1024 bytes, no policy): it is left alone, and the floors are kept in cmld's database only; remove it (tpm2_nvundefine 0x01800f10) if nothing uses it"
unavailable "another's index" "$OTHER"
tpm2d_down
expect_eq "another's index keeps its bytes" "$before" \
    "$(tpm2_nvread -C o -s 17 "$INDEX" 2>/dev/null)"

# --- a TPM without room in its NV ------------------------------------------------------
swtpm_start "$SCRATCH/tpm3"
export TPM2TOOLS_TCTI=$SWTPM_TCTI
STACK_DIR=$SCRATCH/nvfull
TPM2D_SOCK=$STACK_DIR/run/cml/tpm2d.sock
# tpm2d makes its keys first, as on a device; then the NV fills up
tpm2d_up --seal-pcrs 16 || fail "tpm2d did not start on the third swtpm"
tpm2d_down
n=0
for size in 2048 1024 256 32; do
	while tpm2_nvdefine -C o -s "$size" -a "ownerwrite|ownerread" \
	    "$(printf '0x0100%04x' "$n")" >/dev/null 2>&1; do
		n=$((n + 1))
	done
done
expect_match "the third swtpm's NV is full" '^[0-9]{2,}$' "$n"
tpm2d_up --seal-pcrs 16 || fail "tpm2d did not start on the full swtpm"
NOSPACE="the TPM cannot define the floor index at 0x01800f10 (1024 bytes): tpm:error(2.0): insufficient space for NV allocation (0x14b)"
expect_eq "a full NV: before the first RaiseFloor it is not known" \
    "true 42 $INDEX -" "$(floors)"
expect_eq "a full NV: RaiseFloor fails with the TPM's reason" \
    "ERROR org.cml.TPM.FloorUnavailable None: $NOSPACE" \
    "$(bad '{"kind": "guestos", "name": "core", "version": "1"}')"
unavailable "a full NV, after a RaiseFloor" "$NOSPACE"
expect_match "the refusal is audited" \
    "floor guestos/core refused cannot raise the floor to 1: the TPM cannot define the floor index" \
    "$(audit)"
tpm2d_down
expect_eq "no floor index was made" "" \
    "$(tpm2_getcap handles-nv-index | grep -i 0x1800f10)"

# --- an owner hierarchy disabled ------------------------------------------------------------
swtpm_start "$SCRATCH/tpm4"
export TPM2TOOLS_TCTI=$SWTPM_TCTI
tpm2_hierarchycontrol -C p shEnable clear >/dev/null 2>&1 ||
    fail "cannot disable the owner hierarchy of the fourth swtpm"
STACK_DIR=$SCRATCH/noowner
TPM2D_SOCK=$STACK_DIR/run/cml/tpm2d.sock
tpm2d_up --seal-pcrs 16 || fail "tpm2d did not start on the fourth swtpm"
NOOWNER="the TPM's owner hierarchy is disabled (shEnable is clear in TPM2_PT_STARTUP_CLEAR): its NV indices cannot be used until the platform enables it"
unavailable "owner hierarchy disabled" "$NOOWNER"
tpm2d_down

finish
