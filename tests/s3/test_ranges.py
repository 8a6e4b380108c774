"""Ranged gets (opt-in, unauthenticated): AES-CTR over the GCM key stream, only needed blocks."""

from __future__ import annotations

import io
import os
import random
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from envelope import KmsKey
from envelope.errors import (
    S3AuthenticationError,
    S3EncryptionContextError,
    S3EncryptionError,
    S3ObjectTooLargeError,
)
from envelope.s3 import EncryptedS3Client
from envelope.s3.ranges import counter_block, parse_range
from tests.s3.conftest import MIB

PART = 5 * MIB
SIZE = 4 * PART + 12_345  # five parts, the last one short
CONTEXT = {"tenant": "t1"}


@pytest.fixture(scope="module")
def plaintext() -> bytes:
    return os.urandom(SIZE)


@pytest.fixture
def sent_ranges(s3: Any) -> Iterator[list[str | None]]:
    """The Range header of every GetObject the S3 client sends (botocore's own event hook)."""
    ranges: list[str | None] = []

    def record(request: Any, **_: Any) -> None:
        value = request.headers.get("Range")
        ranges.append(value.decode() if isinstance(value, bytes) else value)

    s3.meta.events.register("before-send.s3.GetObject", record)
    yield ranges
    s3.meta.events.unregister("before-send.s3.GetObject", record)


def _put(s3: Any, bucket: str, key: KmsKey, data: bytes, **options: Any) -> EncryptedS3Client:
    client = EncryptedS3Client(
        s3,
        keys=key,
        part_size=PART,
        multipart_threshold=PART,
        allow_unauthenticated_ranges=True,
        **options,
    )
    client.put_object(Bucket=bucket, Key="o", Body=io.BytesIO(data), EncryptionContext=CONTEXT)
    return client


def _ranges(rng: random.Random, size: int, count: int) -> list[tuple[int, int]]:
    """First and last byte, part boundaries, block edges, then random ranges."""
    fixed = [(0, 0), (size - 1, size - 1), (0, size - 1), (15, 16), (16, 31), (size - 17, size - 1)]
    for n in range(1, SIZE // PART + 1):
        edge = n * PART
        fixed += [(edge - 1, edge), (edge - 100, edge + 100), (edge, edge + 15)]
    out = fixed[:count]
    while len(out) < count:
        first = rng.randrange(size)
        last = min(size - 1, first + rng.choice([0, 1, 15, 16, 17, 1000, rng.randrange(2 * PART)]))
        out.append((first, last))
    return out


def test_counter_block_continues_the_gcm_key_stream() -> None:
    """NIST SP 800-38D: block n of a GCM stream with a 96-bit IV is AES-CTR under IV || n + 2."""
    key, iv, data = os.urandom(32), os.urandom(12), os.urandom(16 * 40 + 5)
    sealed = AESGCM(key).encrypt(iv, data, b"aad")[: len(data)]
    for block in (0, 1, 7, 40):
        ctr = Cipher(algorithms.AES(key), modes.CTR(counter_block(iv, block))).decryptor()
        assert ctr.update(sealed[block * 16 :]) == data[block * 16 :]
    with pytest.raises(S3EncryptionError):
        counter_block(iv, 2**32 - 2)
    with pytest.raises(S3EncryptionError):
        counter_block(iv[:8], 0)


@pytest.mark.parametrize(
    ("fmt", "instruction_file", "count"),
    [("v3", False, 200), ("v2", False, 40), ("v3", True, 40)],
    ids=["v3", "v2", "v3-instruction-file"],
)
def test_random_ranges_equal_the_plaintext_slice(
    s3: Any,
    bucket: str,
    local_key: KmsKey,
    plaintext: bytes,
    sent_ranges: list[str | None],
    fmt: str,
    instruction_file: bool,
    count: int,
) -> None:
    client = _put(s3, bucket, local_key, plaintext, format=fmt, instruction_file=instruction_file)
    assert s3.head_object(Bucket=bucket, Key="o")["ETag"].endswith('-5"')
    rng = random.Random(f"{fmt}-{instruction_file}")
    for first, last in _ranges(rng, SIZE, count):
        sent_ranges.clear()
        got = client.get_object(
            Bucket=bucket, Key="o", Range=f"bytes={first}-{last}", EncryptionContext=CONTEXT
        )
        assert got["Body"].read() == plaintext[first : last + 1], (first, last)
        assert got["ContentRange"] == f"bytes {first}-{last}/{SIZE}"
        assert got["ContentLength"] == last - first + 1
        # Exactly the 16-byte blocks holding the range, never the tag (nor, with an instruction
        # file, more than that file: its GetObject carries no Range).
        want = f"bytes={first // 16 * 16}-{min(last // 16 * 16 + 15, SIZE - 1)}"
        assert [r for r in sent_ranges if r is not None] == [want]


def test_open_and_suffix_ranges(s3: Any, bucket: str, local_key: KmsKey, plaintext: bytes) -> None:
    client = _put(s3, bucket, local_key, plaintext)

    def get(spec: str) -> bytes:
        body = client.get_object(Bucket=bucket, Key="o", Range=spec, EncryptionContext=CONTEXT)
        return bytes(body["Body"].read())

    assert get(f"bytes={SIZE - 100}-") == plaintext[-100:]
    assert get("bytes=-33") == plaintext[-33:]
    assert get(f"bytes=-{SIZE + 50}") == plaintext
    assert get(f"bytes=10-{SIZE + 1000}") == plaintext[10:]  # past the end: cut, tag never shown
    sink = io.BytesIO()
    client.download_range(bucket, "o", "bytes=100-199", sink, EncryptionContext=CONTEXT)
    assert sink.getvalue() == plaintext[100:200]


def test_ranges_need_the_opt_in(
    s3: Any, bucket: str, local_key: KmsKey, sent_ranges: list[str | None]
) -> None:
    EncryptedS3Client(s3, keys=local_key).put_object(Bucket=bucket, Key="o", Body=b"x" * 100)
    strict = EncryptedS3Client(s3, keys=local_key)
    sent_ranges.clear()
    with pytest.raises(S3EncryptionError, match="allow_unauthenticated_ranges"):
        strict.get_object(Bucket=bucket, Key="o", Range="bytes=0-9")
    with pytest.raises(S3EncryptionError, match="allow_unauthenticated_ranges"):
        strict.download_range(bucket, "o", "bytes=0-9", io.BytesIO())
    with pytest.raises(S3EncryptionError, match="read whole"):
        strict.download_fileobj(bucket, "o", io.BytesIO(), ExtraArgs={"Range": "bytes=0-9"})
    assert sent_ranges == []  # nothing was fetched


@pytest.mark.parametrize(
    "spec",
    ["bytes=5-2", "bytes=0-1,3-4", "bytes=100-", "bytes=-0", "bytes=x-1", "0-5", "bytes=-", ""],
)
def test_bad_ranges(s3: Any, bucket: str, local_key: KmsKey, spec: str) -> None:
    client = _put(s3, bucket, local_key, b"y" * 100)
    with pytest.raises(S3EncryptionError, match="Range"):
        client.get_object(Bucket=bucket, Key="o", Range=spec, EncryptionContext=CONTEXT)


def test_parse_range_units() -> None:
    assert parse_range("bytes=0-0", 1) == (0, 0)
    assert parse_range("bytes=3-", 10) == (3, 9)
    assert parse_range("bytes=-3", 10) == (7, 9)
    assert parse_range("bytes=2-999", 10) == (2, 9)
    for past in ("bytes=10-", "bytes=10-20", "bytes=99-"):
        with pytest.raises(S3EncryptionError, match="not satisfiable"):
            parse_range(past, 10)
    for bad in ("bytes=0-0", "bytes=-1"):
        with pytest.raises(S3EncryptionError, match="not satisfiable"):
            parse_range(bad, 0)  # an empty object has no byte to give


def test_range_checks_context_commitment_and_size(
    s3: Any, bucket: str, local_key: KmsKey, plaintext: bytes
) -> None:
    client = _put(s3, bucket, local_key, plaintext[:1000])
    with pytest.raises(S3EncryptionContextError):
        client.get_object(Bucket=bucket, Key="o", Range="bytes=0-9", EncryptionContext={})
    # Another object's data key (valid for KMS, same context) fails V3's key commitment.
    client.put_object(Bucket=bucket, Key="p", Body=b"other", EncryptionContext=CONTEXT)
    meta = s3.head_object(Bucket=bucket, Key="o")["Metadata"]
    meta["x-amz-3"] = s3.head_object(Bucket=bucket, Key="p")["Metadata"]["x-amz-3"]
    body = s3.get_object(Bucket=bucket, Key="o")["Body"].read()
    s3.put_object(Bucket=bucket, Key="o", Body=body, Metadata=meta)
    with pytest.raises(S3AuthenticationError, match="commitment"):
        client.get_object(Bucket=bucket, Key="o", Range="bytes=0-9", EncryptionContext=CONTEXT)
    small = EncryptedS3Client(
        s3, keys=local_key, allow_unauthenticated_ranges=True, max_in_memory=3
    )
    with pytest.raises(S3ObjectTooLargeError, match="download_range"):
        small.get_object(Bucket=bucket, Key="p", Range="bytes=0-", EncryptionContext=CONTEXT)


def test_a_tampered_range_is_not_detected(
    s3: Any, bucket: str, local_key: KmsKey, plaintext: bytes
) -> None:
    """What "unauthenticated" means: a flipped ciphertext byte flips the plaintext byte in a
    range, with no error; a whole-object get of the same object fails its tag check."""
    client = _put(s3, bucket, local_key, plaintext[:4096])
    got = s3.get_object(Bucket=bucket, Key="o")
    body = bytearray(got["Body"].read())
    body[100] ^= 0x01
    s3.put_object(Bucket=bucket, Key="o", Body=bytes(body), Metadata=got["Metadata"])
    ranged = client.get_object(
        Bucket=bucket, Key="o", Range="bytes=96-111", EncryptionContext=CONTEXT
    )["Body"].read()
    expected = bytearray(plaintext[96:112])
    expected[4] ^= 0x01
    assert ranged == bytes(expected)
    with pytest.raises(S3AuthenticationError):
        client.get_object(Bucket=bucket, Key="o", EncryptionContext=CONTEXT)


def test_object_replaced_between_head_and_get(
    s3: Any, bucket: str, local_key: KmsKey, plaintext: bytes
) -> None:
    """The ranged GetObject is conditional on the ETag of the HeadObject whose metadata gave the
    key: a replaced object is refused, never decrypted with the old key stream."""
    client = _put(s3, bucket, local_key, plaintext[:5000])

    class RacingS3:
        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def get_object(self, **kwargs: Any) -> Any:
            if "Range" in kwargs:
                client.put_object(
                    Bucket=bucket, Key="o", Body=os.urandom(5000), EncryptionContext=CONTEXT
                )
            return s3.get_object(**kwargs)

    racing = EncryptedS3Client(RacingS3(), keys=local_key, allow_unauthenticated_ranges=True)
    with pytest.raises(Exception, match="PreconditionFailed"):
        racing.get_object(Bucket=bucket, Key="o", Range="bytes=0-99", EncryptionContext=CONTEXT)
