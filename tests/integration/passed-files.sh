#!/bin/bash
# cmld never opens a path a client names: cmlsh (or any client) opens the
# files with its own rights and passes descriptors; cmld checks each one
# and reads only regular files.  For `ca add`, `container create` (config
# and signature) and `guestos install` (manifest, signature, image), a
# FIFO (opened for reading, with no writer: a read would block forever), a
# socket, /dev/zero and a directory are each refused at once with a clear
# message, while a second client keeps getting answers, and cmld stops on
# SIGTERM at the end.  A cml-admin member who is not root cannot make cmld
# read a root-only file, even through a symbolic link: cmlsh cannot open
# it, cmld is never called, and no message shows a byte of it.  A call
# naming a descriptor it did not pass is refused.
# Proves: CR 7.1 (a FIFO or socket or device or directory refused at once),
# CR 2.1 (a non-root admin cannot make cmld read a root-only file).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_root
need_binaries
need_guestos_tools
need_prog python3 setpriv mkfifo
ensure_groups
stack_start
user_programs

pki=$SCRATCH/pki
pki_make "$pki"
gos=$SCRATCH/busybox-1.0
guestos_make "$gos" busybox 1.0
img=$(manifest_get "$gos" images 0 file)

# the hostile files
mkfifo "$SCRATCH/fifo"
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SCRATCH/sock"
mkdir "$SCRATCH/dir"

driver=$SCRATCH/driver.py
cat >"$driver" <<'PY'
import json, os, sys, threading, time
sys.path.insert(0, os.path.join(os.environ["CML_SRCDIR"], "tests/integration"))
import varlink

path, method, params, files = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4:]
fds = [varlink.open_pass(f) for f in files]
t0 = time.time()
reply = varlink.Connection(path, 20).call(method, params, fds)
took = time.time() - t0
# a second client, right after
ok = varlink.Connection(path, 5).call("org.cml.Device.Status")
print(json.dumps({"error": reply.get("error"),
                  "message": reply.get("parameters", {}).get("message", ""),
                  "fast": took < 3, "other": "error" not in ok}))
PY
# call METHOD PARAMS FILE...: prints ERROR|MESSAGE|FAST|OTHER
call() {
	python3 "$driver" "$SOCK" "$@" | python3 -c 'import json, sys
r = json.load(sys.stdin)
print("%s|%s|%s|%s" % (r["error"], r["message"], r["fast"], r["other"]))'
}
# refused DESC WANT-ERROR WANT-MESSAGE-RE METHOD PARAMS FILE...
refused() {
	local desc=$1 err=$2 re=$3 out
	shift 3
	out=$(call "$@")
	expect_match "$desc: refused at once, the reason given, others answered" \
	    "^$(re_quote "$err")\\|$re\\|True\\|True\$" "$out"
}

hostile=(fifo sock /dev/zero dir)
path_of() { case "$1" in /*) echo "$1" ;; *) echo "$SCRATCH/$1" ;; esac; }

for h in "${hostile[@]}"; do
	p=$(path_of "$h")
	refused "ca add $h" org.cml.Error.InvalidArgument \
	    "cannot add NAME as a trust anchor: NAME is not a regular file" \
	    org.cml.Trust.Add '{"cert":{"fd":0,"name":"NAME"}}' "$p"
	refused "container create $h" org.cml.Error.InvalidArgument \
	    "container config NAME refused: NAME is not a regular file" \
	    org.cml.Container.Create '{"config":{"fd":0,"name":"NAME"}}' "$p"
	refused "container create with a $h signature" org.cml.Error.InvalidSignature \
	    "container config NAME refused: NAME\\.p7s is not a regular file" \
	    org.cml.Container.Create '{"config":{"fd":0,"name":"NAME","signature":1}}' \
	    "$SCRATCH/busybox-1.0/manifest.json" "$p"
	refused "guestos install: manifest.json a $h" org.cml.Error.InvalidArgument \
	    "guest OS in DIR refused: manifest\\.json is not a regular file" \
	    org.cml.GuestOS.Install '{"dir":{"name":"DIR","files":{"manifest.json":0,"manifest.json.p7s":1,"'"$img"'":2}}}' \
	    "$p" "$gos/manifest.json.p7s" "$gos/$img"
	refused "guestos install: the signature a $h" org.cml.Error.InvalidSignature \
	    "guest OS in DIR refused: manifest\\.json\\.p7s is not a regular file" \
	    org.cml.GuestOS.Install '{"dir":{"name":"DIR","files":{"manifest.json":0,"manifest.json.p7s":1,"'"$img"'":2}}}' \
	    "$gos/manifest.json" "$p" "$gos/$img"
done
cmlsh_run ca add "$pki/root.crt" >/dev/null || fail "ca add $pki/root.crt failed"
for h in "${hostile[@]}"; do
	refused "guestos install: the image a $h" org.cml.Error.IntegrityViolation \
	    "guest OS in DIR refused: image '$(re_quote "$img")' is not a regular file" \
	    org.cml.GuestOS.Install '{"dir":{"name":"DIR","files":{"manifest.json":0,"manifest.json.p7s":1,"'"$img"'":2}}}' \
	    "$gos/manifest.json" "$gos/manifest.json.p7s" "$(path_of "$h")"
done
refused "a descriptor index beyond those passed" org.varlink.service.InvalidParameter \
    "'cert' names passed file 3, but 1 were passed with the call" \
    org.cml.Trust.Add '{"cert":{"fd":3,"name":"NAME"}}' "$pki/root.crt"

# the same through cmlsh: a FIFO is passed unopened and refused
timeout 10 "$CMLSH" --socket "$SOCK" ca add "$SCRATCH/fifo" >/dev/null 2>"$SCRATCH/err"
expect_status "cmlsh ca add FIFO: refused, not stuck" 1 $?
expect_eq "cmlsh ca add FIFO: the message" \
    "cmlsh: cannot add $SCRATCH/fifo as a trust anchor: $SCRATCH/fifo is not a regular file" \
    "$(cat "$SCRATCH/err")"
timeout 10 "$CMLSH" --socket "$SOCK" guestos install "$SCRATCH/dir" >/dev/null 2>"$SCRATCH/err"
expect_status "cmlsh guestos install of an empty directory" 1 $?
expect_eq "cmlsh guestos install of an empty directory: the message" \
    "cmlsh: guest OS in $SCRATCH/dir refused: there is no manifest.json" "$(cat "$SCRATCH/err")"

# --- a cml-admin member who is not root ---------------------------------------------------
secret=$SCRATCH/secret.crt
printf 'ROOTONLY-%s\n' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$secret"
chmod 600 "$secret"
ln -s "$secret" "$SCRATCH/link.crt"
n0=$(audit_count)
before=$(cmlsh_run ca list)
for p in "$secret" "$SCRATCH/link.crt"; do
	out=$(as_user cml-admin "$USER_CMLSH" --socket "$SOCK" ca add "$p" 2>&1)
	expect_status "a non-root admin: ca add of a root-only file (${p##*/}) fails" 1 $?
	expect_eq "a non-root admin: ${p##*/}: cmlsh cannot open it" \
	    "cmlsh: cannot open $p: Permission denied" "$out"
	out=$(as_user cml-admin "$USER_CMLSH" --socket "$SOCK" container create "$p" 2>&1)
	expect_eq "a non-root admin: container create ${p##*/}: cmlsh cannot open it" \
	    "cmlsh: cannot open $p: Permission denied" "$out"
done
expect_eq "cmld was never called for those" "$n0" "$(audit_count)"
expect_eq "no anchor was added" "$before" "$(cmlsh_run ca list)"
expect_eq "no record holds a byte of the file" "" \
    "$(cmlsh_run --json audit list | grep -o 'ROOTONLY[-0-9a-f]*' | head -1)"
# (root may, since root can read it: the content never shows in the message)
out=$(cmlsh_run container create "$secret" 2>&1)
expect_match "root: container create of a file that is no config: refused" \
    "^cmlsh: container config $(re_quote "$secret") refused: config is not valid JSON" "$out"
case "$out" in
*ROOTONLY*) expect_eq "the message quotes nothing of the file" "nothing" "content" ;;
*) expect_eq "the message quotes nothing of the file" "nothing" "nothing" ;;
esac

# cmld stops on SIGTERM at once
t0=$(date +%s)
stack_stop
expect_eq "cmld stopped on SIGTERM within 5 s" 1 "$(( $(date +%s) - t0 <= 5 ? 1 : 0 ))"

finish
