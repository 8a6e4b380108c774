#!/usr/bin/env bash
# The main job on the embedded default: a local key, a file encrypted, inspected and decrypted.
# Usage: bash scripts/demo.sh PATH/TO/envelope   (ENVELOPE_HOME chooses the keystore folder)
set -euo pipefail
envelope=${1:-envelope}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "keystore: ${ENVELOPE_HOME:-default per-user folder}"
if ! "$envelope" key describe alias/demo >/dev/null 2>&1; then
    "$envelope" key create --description "envelope demo" --alias alias/demo >/dev/null
    echo "created key alias/demo"
fi
"$envelope" key describe alias/demo

head -c 3000000 /dev/urandom > "$work/report.bin"
printf 'quarterly numbers\n' >> "$work/report.bin"

"$envelope" encrypt "$work/report.bin" -o "$work/report.bin.env" --key alias/demo -c team=finance
echo
echo "encrypted $(wc -c < "$work/report.bin") bytes -> $(wc -c < "$work/report.bin.env") bytes"
"$envelope" inspect "$work/report.bin.env"

"$envelope" decrypt "$work/report.bin.env" -o "$work/report.out" -c team=finance
cmp "$work/report.bin" "$work/report.out"
echo
echo "decrypted and verified: the round trip is byte-identical"
