#!/usr/bin/env bash
# S3 round trip with no AWS account: moto's S3 server on 127.0.0.1, a key in the local KMS.
# Usage: bash scripts/demo-s3.sh PATH/TO/envelope PATH/TO/python   (the venv's, with moto[server])
# ENVELOPE_HOME chooses the keystore folder. moto is started here and always stopped.
set -euo pipefail
envelope=${1:-envelope}
python=${2:-python3}
work=$(mktemp -d)
moto_pid=
cleanup() {
    if [ -n "$moto_pid" ]; then kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }

step "start moto's S3 server on 127.0.0.1 (a stand-in for any S3-compatible store)"
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$python" -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$port" AWS_REGION=us-east-1 \
       AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing ENVELOPE_KMS=local
unset AWS_PROFILE AWS_ENDPOINT_URL
"$python" - <<'PY'
import time, boto3
for _ in range(200):
    try:
        boto3.client("s3").create_bucket(Bucket="envelope-demo")
        break
    except Exception:
        time.sleep(0.1)
else:
    raise SystemExit("moto did not start")
PY
echo "moto on $AWS_ENDPOINT_URL_S3, bucket envelope-demo"

step "a key in the local key service (no AWS account; the key never leaves the keystore)"
if "$envelope" key describe alias/s3-demo >/dev/null 2>&1; then
    echo "reusing alias/s3-demo"
else
    "$envelope" key create --description "envelope S3 demo" --alias alias/s3-demo >/dev/null
    echo "created alias/s3-demo"
fi

step "put a 2.6 MB file, encrypted on this machine (S3 Encryption Client format V3)"
for i in $(seq 1 30000); do printf 'invoice %06d: paid\n' "$i"; done > "$work/invoices.txt"
head -c 2000000 /dev/urandom >> "$work/invoices.txt"
"$envelope" s3 put "$work/invoices.txt" s3://envelope-demo/2026/invoices.txt \
    --key alias/s3-demo -c dept=billing
echo "invoices.txt ($(wc -c < "$work/invoices.txt") bytes) -> s3://envelope-demo/2026/invoices.txt"

step "what the bucket holds: ciphertext and metadata, no key"
"$python" - <<'PY'
import boto3
got = boto3.client("s3").get_object(Bucket="envelope-demo", Key="2026/invoices.txt")
body = got["Body"].read()
print("stored bytes start:", body[:24].hex(), "...", len(body), "bytes")
print("plaintext visible: ", b"invoice 000001" in body)
print("metadata keys:     ", ", ".join(sorted(got["Metadata"])))
PY

step "head: the format, wrapping and context (nothing secret)"
"$envelope" s3 head s3://envelope-demo/2026/invoices.txt

step "get with the wrong context: refused, and no output file appears"
if "$envelope" s3 get s3://envelope-demo/2026/invoices.txt -o "$work/wrong.txt" -c dept=sales; then
    echo "unexpected: the wrong context decrypted" >&2
    exit 1
fi
test ! -e "$work/wrong.txt" && echo "(no wrong.txt written)"

step "get with the right context and compare"
"$envelope" s3 get s3://envelope-demo/2026/invoices.txt -o "$work/invoices.out" -c dept=billing
cmp "$work/invoices.txt" "$work/invoices.out"
echo "byte-identical"

step "pipes: stdin up, stdout down (stdout gets the plaintext only after the tag verifies)"
echo "a line through a pipe" | "$envelope" s3 put - s3://envelope-demo/note --key alias/s3-demo
"$envelope" s3 get s3://envelope-demo/note -o - | cat

step "stop moto"
kill "$moto_pid"; wait "$moto_pid" 2>/dev/null || true; moto_pid=
echo "done: moto stopped"
