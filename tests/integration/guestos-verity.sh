#!/bin/bash
# A guest OS whose images carry a signed dm-verity hash tree
# (cml-guestos(5), the image object's "verity"), on whichever kernel runs
# the test.  The tree is made here with veritysetup itself (format 1,
# SHA-256, 4096-byte blocks, no superblock, after the file system), the
# manifest's image gets its size and SHA-256 over file system and tree and
# the verity object, and is signed again; so the format cmld reads is the
# one the standard tool writes.
#   - install takes it; `veritysetup verify` of the installed image with the
#     manifest's root hash, salt and offset passes (user space, no
#     device-mapper needed): the tree cmld would map is the signed one;
#   - device status says how images are checked: "dm-verity" where the
#     kernel has it, else "full hash (why)"; with the setting
#     guestos_verity false "full hash (the setting guestos_verity is
#     false)" on every kernel, and back;
#   - the container starts and runs; `container show` names how its image is
#     mounted: through the dm-verity device cml-ID_v0 where the kernel has
#     dm-verity, else on a loop device (the image hashed in full before the
#     start); after its stop, no dm device and no loop device are left;
#   - without dm-verity (or with guestos_verity false): a byte of the tree
#     changed after install fails the next start with the image's SHA-256
#     (the full hash covers the tree too), and so does a byte of the file
#     system; put back, it starts;
#   - manifests whose verity object is wrong are refused at install with
#     the field named (data_size not a multiple of 4096, a root hash that is
#     no SHA-256, an unknown field), nothing installed.
# The kernel's side (a changed block failing its read with an I/O error,
# the audit record, the start's time not growing with the image) needs
# dm-verity: tests/integration/container-cgroup-v2-vm.sh proves it in the
# test virtual machine.
# Proves: APS 02 (images checked before use: by dm-verity as read, or in
# full before every start), NDR 3.2, CR 3.4, OS 03.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_prog veritysetup python3 sqlite3
ct_setup

# --- a guest OS with a hash tree, made with veritysetup -----------------------------------
gos=$SCRATCH/verity-1.0
guestos_make "$gos" verity 1.0
img=$gos/root.squashfs
data_size=$(( ($(stat -c %s "$img") + 4095) / 4096 * 4096 ))
truncate -s "$data_size" "$img" || fail "cannot pad $img"
salt=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
root_hash=$(veritysetup format --no-superblock --format=1 --hash=sha256 \
    --data-block-size=4096 --hash-block-size=4096 --hash-offset="$data_size" \
    --salt="$salt" "$img" "$img" | sed -n 's/^Root hash:[[:space:]]*//p')
[[ "$root_hash" =~ ^[0-9a-f]{64}$ ]] || fail "veritysetup gave no root hash"
# verity_manifest DIR VERITY-JSON: the root image's entry with the size and
# SHA-256 of the whole file and the verity object given (JSON), signed again
verity_manifest() {
	python3 - "$1" "$2" <<'PY' || fail "cannot write the manifest"
import hashlib, json, os, sys
d, v = sys.argv[1], json.loads(sys.argv[2])
m = json.load(open(os.path.join(d, "manifest.json")))
img = m["images"][0]
path = os.path.join(d, img["file"])
img["size"] = os.path.getsize(path)
img["sha256"] = hashlib.sha256(open(path, "rb").read()).hexdigest()
img["verity"] = v
open(os.path.join(d, "manifest.json"), "w").write(json.dumps(m))
PY
	manifest_sign "$1"
}
verity_manifest "$gos" '{"root_hash":"'"$root_hash"'","salt":"'"$salt"'","data_size":'"$data_size"'}'
expect_eq "the image is the file system and the tree after it" "1" \
    "$(( $(stat -c %s "$img") > data_size ))"

# --- bad verity objects are refused at install --------------------------------------------
bad=$SCRATCH/verity-bad
guestos_clone "$gos" "$bad"
verity_manifest "$bad" '{"root_hash":"'"$root_hash"'","salt":"'"$salt"'","data_size":'"$((data_size - 512))"'}'
expect_install_refused "data_size not a multiple of 4096" "$bad" org.cml.Error.InvalidArgument \
    "manifest: images[0].verity.data_size must be a multiple of 4096 greater than 0 and less than the image's size (the hash tree follows the file system)"
verity_manifest "$bad" '{"root_hash":"'"${root_hash:0:40}"'","salt":"'"$salt"'","data_size":'"$data_size"'}'
expect_install_refused "a root hash that is no SHA-256" "$bad" org.cml.Error.InvalidArgument \
    "manifest: images[0].verity.root_hash must be 64 lower-case hex digits (a SHA-256)"
verity_manifest "$bad" '{"root_hash":"'"$root_hash"'","salt":"'"$salt"'","data_size":'"$data_size"',"hash":"sha1"}'
expect_install_refused "an unknown verity field" "$bad" org.cml.Error.InvalidArgument \
    "manifest: unknown field 'hash' in images[0].verity"

# --- installed ----------------------------------------------------------------------------
guestos_install "$gos"
expect_status "guestos install of a guest OS with a hash tree" 0 "$rc"
inst=$(state_dir)/guestos/verity/1.0
expect_eq "the installed image is the signed one" \
    "$(manifest_get "$gos" images 0 sha256)" "$(sha256sum "$inst/root.squashfs" | cut -d' ' -f1)"
veritysetup verify --no-superblock --format=1 --hash=sha256 --data-block-size=4096 \
    --hash-block-size=4096 --data-blocks="$((data_size / 4096))" \
    --hash-offset="$data_size" --salt="$salt" \
    "$inst/root.squashfs" "$inst/root.squashfs" "$root_hash" >"$SCRATCH/vs" 2>&1
expect_status "veritysetup verify of the installed image with the manifest's values" 0 $?

# --- how images are checked ----------------------------------------------------------------
check=$(cmlsh_run --json -c 'device status' | json_get image_check)
if [ "$check" = dm-verity ]; then
	verity=1
	echo "# this kernel has dm-verity: images are checked as they are read"
else
	verity=0
	echo "# this kernel has no dm-verity: images are hashed in full ($check)"
	expect_match "device status: full hash, and why" '^full hash \(.+\)$' "$check"
	if ! grep -qw device-mapper /proc/misc 2>/dev/null; then
		expect_eq "device status: why" "full hash (this kernel has no device-mapper)" "$check"
	fi
fi
cmlsh_run device config set guestos_verity false >/dev/null || fail "device config set failed"
expect_eq "guestos_verity false: full hash on every kernel" \
    "full hash (the setting guestos_verity is false)" \
    "$(cmlsh_run --json -c 'device status' | json_get image_check)"
expect_lines "device status names it" "$(cmlsh_run device status | grep '^image check')" \
    '^image check: +full hash \(the setting guestos_verity is false\)$'
cmlsh_run device config set guestos_verity true >/dev/null || fail "device config set failed"
expect_eq "guestos_verity true again" "$check" \
    "$(cmlsh_run --json -c 'device status' | json_get image_check)"

# --- the container -------------------------------------------------------------------------
name=$(ct_name verity)
ct_create "$name" '{"name":"'"$name"'","guestos":{"name":"verity"}}'
ct_start "$name"
expect_eq "it runs" "running" "$(ct_state "$name")"
expect_eq "a file of the image reads" "ok" "$(ct_exec "$name" /bin/echo ok 2>&1)"
id=$(sqlite3 "$(state_dir)/cml.db" ".timeout 5000" "select uuid from container where name = '$name'")
if [ "$verity" = 1 ]; then
	expect_match "container show: through dm-verity" \
	    "^root\\.squashfs \\(squashfs\\) on dm-verity device cml-${id}_v0 over /dev/loop[0-9]+\$" \
	    "$(ct_show "$name" images)"
else
	expect_match "container show: on a loop device" \
	    '^root\.squashfs \(squashfs\) on loop device /dev/loop[0-9]+$' "$(ct_show "$name" images)"
fi
cmlsh_run container stop "$name" >/dev/null || fail "stop failed"
expect_eq "after the stop: nothing left" "" "$(ct_leftovers "$name")"
expect_eq "after the stop: no dm-verity device" "" \
    "$(grep -lx "cml-${id}_v0" /sys/block/dm-*/dm/name 2>/dev/null)"

# --- changed after install -----------------------------------------------------------------
if [ "$verity" = 0 ]; then
	want=$(manifest_get "$gos" images 0 sha256)
	for what in "the tree:$((data_size + 100))" "the file system:$((data_size / 2))"; do
		off=${what##*:}
		flip_byte "$inst/root.squashfs" "$off"
		ct_cmlsh container start "$name"
		expect_status "a byte of ${what%%:*} changed: start refused" 1 "$rc"
		expect_eq "a byte of ${what%%:*} changed: the message" \
		    "cmlsh: container '$name' did not start: guest OS verity 1.0: image 'root.squashfs' of verity 1.0 was changed after install: SHA-256 $(sha256sum "$inst/root.squashfs" | cut -d' ' -f1) expected $want" \
		    "$(cat "$SCRATCH/err")"
		flip_byte "$inst/root.squashfs" "$off"
	done
	ct_start "$name"
	expect_eq "put back: it runs" "running" "$(ct_state "$name")"
	cmlsh_run container stop "$name" >/dev/null || fail "stop failed"
fi
finish
