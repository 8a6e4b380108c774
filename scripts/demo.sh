#!/usr/bin/env bash
# The main job on the embedded default: a local key, a file encrypted, inspected and decrypted.
# Usage: bash scripts/demo.sh PATH/TO/envelope   (ENVELOPE_HOME chooses the keystore folder)
# Safe to run again: the key alias/demo is reused when it already exists.
set -euo pipefail
envelope=${1:-envelope}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step() { printf '\n== %s\n' "$*"; }

echo "envelope demo: $("$envelope" --version), keystore ${ENVELOPE_HOME:-in the per-user data folder}"

step "a key in the local key service (its material never leaves the keystore)"
fresh=no
if "$envelope" key describe alias/demo >/dev/null 2>&1; then
    echo "reusing alias/demo from an earlier run"
else
    "$envelope" key create --description "envelope demo" --alias alias/demo >/dev/null
    echo "created alias/demo"
    fresh=yes
fi
"$envelope" key describe alias/demo

step "encrypt a 2 MB file under alias/demo, bound to the context team=finance"
for i in $(seq 1 20000); do
    printf 'row %06d: quarterly numbers, not for everyone\n' "$i"
done > "$work/report.csv"
head -c 1000000 /dev/urandom >> "$work/report.csv"
"$envelope" encrypt "$work/report.csv" -o "$work/report.csv.env" --key alias/demo -c team=finance
echo "report.csv ($(wc -c < "$work/report.csv") bytes) -> report.csv.env ($(wc -c < "$work/report.csv.env") bytes)"

step "inspect the message header (public facts only; any AWS Encryption SDK reads this format)"
"$envelope" inspect "$work/report.csv.env"

step "decrypt with the wrong context: refused, and no output file appears"
if "$envelope" decrypt "$work/report.csv.env" -o "$work/wrong.csv" -c team=sales; then
    echo "unexpected: the wrong context decrypted" >&2
    exit 1
fi
test ! -e "$work/wrong.csv" && echo "(no wrong.csv written)"

step "decrypt with the right context and compare"
"$envelope" decrypt "$work/report.csv.env" -o "$work/report.out" -c team=finance
cmp "$work/report.csv" "$work/report.out"
echo "byte-identical"

step "rotate the key, then rewrap the message: only its header changes"
if [ "$fresh" = yes ]; then  # KMS allows 25 on-demand rotations per key: once per new key
    "$envelope" key rotate alias/demo
fi
"$envelope" key rotations alias/demo
tail -c 1000000 "$work/report.csv.env" > "$work/body.before"
"$envelope" rewrap "$work/report.csv.env"
tail -c 1000000 "$work/report.csv.env" | cmp - "$work/body.before"
"$envelope" decrypt "$work/report.csv.env" -o "$work/report.again" -c team=finance
cmp "$work/report.csv" "$work/report.again"
echo "body bytes unchanged; the rewrapped message still decrypts"

printf '\nDone: a key in %s; a file encrypted, inspected, decrypted and rewrapped.\n' \
    "${ENVELOPE_HOME:-the per-user data folder}"
echo "Try: $envelope key list    $envelope --help"
