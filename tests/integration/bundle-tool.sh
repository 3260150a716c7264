#!/bin/bash
# cml-bundle makes, signs and shows update bundles (cml-bundle(5)), without
# a device: create puts two payloads on their 4096-byte boundaries with
# their sizes and SHA-256 and an empty signature table; info shows kind,
# name, version, each payload "ok" and "signature: none"; sign adds one
# signature after another (a second signer, its own certificate, for m of
# n) without moving the payloads or the manifest; info --ca names both
# signers as verified; a changed payload byte is "CHANGED" (exit 1), a
# changed manifest byte fails every signature, a bundle signed by a signer
# under another root is refused by that root's anchor; broken input is
# refused with the reason: an unknown kind, a name that is no guest OS
# name, a bundle cut short.
# Proves: TSF.UPD, NDR 3.10 (update bundles signed and checked), NDR 3.10(1)
# (several signers on one bundle).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

BUNDLE=$CML_BUILDDIR/provisioning/cml-bundle
[ -x "$BUNDLE" ] || skip "no cml-bundle at $BUNDLE: build first"
make_scratch
pki_make "$SCRATCH/pki"
pki_leaf "$SCRATCH/pki" second
pki_make "$SCRATCH/other"
head -c 5000 /dev/urandom >"$SCRATCH/p1"
head -c 10000 /dev/urandom >"$SCRATCH/p2"
b=$SCRATCH/t.bundle

"$BUNDLE" create -o "$b" --kind guestos --name busybox --version 1.2.0 \
    --description "a test" root="$SCRATCH/p1" data="$SCRATCH/p2" >"$SCRATCH/out" 2>&1
expect_status "create" 0 $?
expect_eq "create says nothing" "" "$(cat "$SCRATCH/out")"
expect_eq "no temporary file left" "" "$(ls "$SCRATCH" | grep '\.tmp$')"
expect_eq "the first payload at 0" "$(sha256sum <"$SCRATCH/p1")" "$(head -c 5000 "$b" | sha256sum)"
expect_eq "the second on its boundary" "$(sha256sum <"$SCRATCH/p2")" \
    "$(tail -c +8193 "$b" | head -c 10000 | sha256sum)"
"$BUNDLE" info "$b" >"$SCRATCH/out" 2>&1
expect_status "info" 0 $?
expect_lines "info: what it holds" "$(cat "$SCRATCH/out")" \
    '^kind: +guestos$' '^name: +busybox$' '^version: +1\.2\.0$' '^description: +a test$' \
    "^payload: +root 5000 bytes sha256 $(sha256sum <"$SCRATCH/p1" | cut -d' ' -f1) ok\$" \
    "^payload: +data 10000 bytes sha256 $(sha256sum <"$SCRATCH/p2" | cut -d' ' -f1) ok\$" \
    '^signature: +none$'

before=$(head -c 18192 "$b" | sha256sum)
"$BUNDLE" sign --key "$SCRATCH/pki/signer.key" --cert "$SCRATCH/pki/signer.crt" \
    --chain "$SCRATCH/pki/chain.pem" "$b"
expect_status "sign" 0 $?
"$BUNDLE" sign --key "$SCRATCH/pki/second.key" --cert "$SCRATCH/pki/second.crt" \
    --chain "$SCRATCH/pki/chain.pem" "$b"
expect_status "sign by a second signer" 0 $?
expect_eq "payloads and manifest did not move" "$before" "$(head -c 18192 "$b" | sha256sum)"
"$BUNDLE" info --ca "$SCRATCH/pki/root.crt" "$b" >"$SCRATCH/out" 2>&1
expect_status "info --ca" 0 $?
expect_lines "info --ca: both signers verified" "$(grep '^signature' "$SCRATCH/out")" \
    '^signature: +1: verified: CN=cml software signer,O=cml \(issuer CN=cml software signing CA,O=cml, sha256 [0-9a-f]{64}\)$' \
    '^signature: +2: verified: CN=second,O=cml \(issuer CN=cml software signing CA,O=cml, sha256 [0-9a-f]{64}\)$'

cp "$b" "$SCRATCH/x.bundle"
flip_byte "$SCRATCH/x.bundle" 100
"$BUNDLE" info --ca "$SCRATCH/pki/root.crt" "$SCRATCH/x.bundle" >"$SCRATCH/out" 2>&1
expect_status "a changed payload byte" 1 $?
expect_match "a changed payload byte: named" '^payload: +root .* CHANGED$' "$(grep -E '^payload: +root' "$SCRATCH/out")"
cp "$b" "$SCRATCH/x.bundle"
flip_byte "$SCRATCH/x.bundle" 18200
"$BUNDLE" info --ca "$SCRATCH/pki/root.crt" "$SCRATCH/x.bundle" >"$SCRATCH/out" 2>&1
rc=$?
expect_eq "a changed manifest byte: refused" 1 "$rc"
expect_eq "a changed manifest byte: no signature verifies" "" "$(grep 'verified' "$SCRATCH/out")"
"$BUNDLE" info --ca "$SCRATCH/other/root.crt" "$b" >"$SCRATCH/out" 2>&1
expect_status "another root's anchor" 1 $?
expect_eq "another root's anchor: both refused" 2 "$(grep -c 'REFUSED: .*does not chain to a trusted root' "$SCRATCH/out")"

"$BUNDLE" create -o "$SCRATCH/y" --kind kernel --name busybox --version 1 a="$SCRATCH/p1" >"$SCRATCH/out" 2>&1
expect_status "an unknown kind" 2 $?
expect_match "an unknown kind: why" 'kind must be guestos, configs, cml or boot' "$(cat "$SCRATCH/out")"
"$BUNDLE" create -o "$SCRATCH/y" --kind guestos --name Busybox --version 1 a="$SCRATCH/p1" >"$SCRATCH/out" 2>&1
expect_status "a bad name" 1 $?
expect_eq "a bad name: why" "cml-bundle: name 'Busybox' must be 1 to 64 of a-z 0-9 . _ -, starting with a letter or digit" \
    "$(cat "$SCRATCH/out")"
expect_eq "a bad name: nothing left" "" "$(ls "$SCRATCH" | grep '^y')"
head -c 9000 "$b" >"$SCRATCH/short.bundle"
"$BUNDLE" info "$SCRATCH/short.bundle" >"$SCRATCH/out" 2>&1
expect_status "a bundle cut short" 1 $?
expect_eq "a bundle cut short: why" "cml-bundle: $SCRATCH/short.bundle: not a bundle: no bundle footer at its end" \
    "$(cat "$SCRATCH/out")"

# cml: an install tree, each file placed by its path with its mode
mkdir -p "$SCRATCH/tree/sbin" "$SCRATCH/tree/share/man/man8"
cp "$SCRATCH/p1" "$SCRATCH/tree/sbin/cmld"
chmod 755 "$SCRATCH/tree/sbin/cmld"
cp "$SCRATCH/p2" "$SCRATCH/tree/share/man/man8/cmld.8"
chmod 600 "$SCRATCH/tree/share/man/man8/cmld.8"
"$BUNDLE" create -o "$SCRATCH/cml.bundle" --kind cml --name cml --version 2 \
    --tree "$SCRATCH/tree" >"$SCRATCH/out" 2>&1
expect_status "create --tree" 0 $?
"$BUNDLE" info "$SCRATCH/cml.bundle" >"$SCRATCH/out" 2>&1
expect_lines "info: each file with its path and mode" "$(grep '^payload' "$SCRATCH/out")" \
    "^payload: +sbin\\.cmld 5000 bytes sha256 [0-9a-f]{64} ok -> sbin/cmld 0755\$" \
    "^payload: +share\\.man\\.man8\\.cmld\\.8 10000 bytes sha256 [0-9a-f]{64} ok -> share/man/man8/cmld\\.8 0644\$"
"$BUNDLE" create -o "$SCRATCH/y" --kind cml --name cml --version 2 a="$SCRATCH/p1" >"$SCRATCH/out" 2>&1
expect_status "a cml bundle of loose files" 2 $?
expect_match "a cml bundle of loose files: why" "a cml bundle is made from an install tree" "$(cat "$SCRATCH/out")"
ln -s cmld "$SCRATCH/tree/sbin/link"
"$BUNDLE" create -o "$SCRATCH/y" --kind cml --name cml --version 2 --tree "$SCRATCH/tree" >"$SCRATCH/out" 2>&1
expect_status "a tree with a symbolic link" 1 $?
expect_eq "a tree with a symbolic link: why" "cml-bundle: $SCRATCH/tree/sbin/link is not a regular file or a directory" \
    "$(cat "$SCRATCH/out")"
finish
