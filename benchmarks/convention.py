"""How every benchmark describes itself, so one generic generator (report.py) builds the report.

Each benchmark calls :func:`tag` once. Its ``benchmark.extra_info`` then holds:

- ``area``: the report section (a key of :data:`AREAS`);
- ``case``: the row -- what was done, with its size (``"1 KiB encrypt"``);
- ``impl``: the column -- who did it (``"envelope"``, ``"aws-encryption-sdk"``, ``"cp"``);
- ``role``: ``subject`` (ours), ``peer`` (what a user would use instead) or ``limit`` (the
  physical floor or ceiling: raw AES-GCM, a file copy, an empty interpreter);
- ``bytes`` (``nbytes=``): payload bytes per round, for throughput (else ``ops``: operations
  per round);
- ``rate``: operations per second when the benchmark measures its own rate (a capacity run),
  instead of pytest-benchmark's time per round;
- ``figures``: other named numbers for the case (peak RSS, key-service calls, bytes on the wire);
- ``series``/``x``: optional, for charts (``x`` defaults to ``bytes``).

Ratios in the report are computed only between implementations of the same case in the same
JSON file, which is one run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

ROLES = ("subject", "peer", "limit")


@dataclass(frozen=True)
class Chart:
    """One PNG: ``y`` (``throughput``, ``rate`` or a figure's name) against ``x`` per impl."""

    file: str
    title: str
    x_label: str
    y_label: str
    y: str
    series: str | None = None
    """Only cases whose ``series`` extra is this value."""
    impls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Area:
    """A report section: a title, what was compared and how, the main metric, its charts."""

    title: str
    how: str
    metric: str  # "throughput", "rate" (operations/s) or "time" (seconds per round)
    charts: tuple[Chart, ...] = field(default=())


AREAS: dict[str, Area] = {
    "messages": Area(
        "Messages: encrypt and decrypt",
        "Suite 0x0478 (AES-256-GCM, HKDF-SHA512, key commitment, unsigned), 64 KiB frames, a raw "
        "AES-256 wrapping key and a one-entry encryption context on both ESDKs; Tink's "
        "`KmsEnvelopeAead` (AES256_GCM data keys, an in-process AES256_GCM AEAD as the "
        "key-encryption key, the context as associated data); raw AES-GCM is one `AESGCM` call "
        "on the whole buffer. In memory up to 64 MiB; 1 GiB is streamed file to file (raw "
        "AES-GCM in 64 KiB chunks, and `cp`, as limits). `0x0478 crypto calls only` makes just "
        "the `cryptography` calls a 0x0478 round trip needs (data key, wrap and unwrap, HKDF "
        "extract and two expands per side, header tag, commitment, one frame), with no format "
        "around them: the floor under envelope's 1 KiB figure. The 1 KiB round trip (one "
        "encrypt and one decrypt) is timed in the thread's CPU time, the other cases in wall-clock "
        "time. "
        "`benchmarks/test_bench_message.py`.",
        "throughput",
        (
            Chart("messages-encrypt.png", "Encrypt throughput by message size (1 GiB streamed)",
                  "message size", "throughput (MB/s)", "throughput", "encrypt",
                  ("envelope", "aws-encryption-sdk", "raw AES-GCM")),
            Chart("messages-decrypt.png", "Decrypt throughput by message size (1 GiB streamed)",
                  "message size", "throughput (MB/s)", "throughput", "decrypt",
                  ("envelope", "aws-encryption-sdk", "raw AES-GCM")),
        ),
    ),
    "header": Area(
        "Message header parsing by EDK count",
        "A v2 header read from a stream with the EDK cap lifted (`parse-all`), against "
        "aws-encryption-sdk's own header deserializer; `cap 10` is the default cap refusing at "
        "the count. `benchmarks/test_bench_header.py`.",
        "rate",
    ),
    "cache": Area(
        "Data-key cache: 10,000 messages of 1 KiB",
        "Each round encrypts 10,000 messages of 1 KiB under one LocalKeyService key (in "
        "process), with and without a data-key cache (at most 1,000 messages per data key); "
        "aws-encryption-sdk uses its caching CMM with the same limits and envelope's master "
        "key provider on the same LocalKeyService (`envelope.esdk`). Key-service calls are "
        "counted for one round. `benchmarks/test_bench_cache.py`.",
        "rate",
    ),
    "keys": Area(
        "Key operations per backend",
        "GenerateDataKey (AES_256) and Decrypt of its blob with a one-entry context, per "
        "backend: LocalKeyService in process, `envelope serve` and moto's server on 127.0.0.1. "
        "One KeyService client: LocalKeyService itself, or AwsKmsKeyService (boto3) to the "
        "server. One plain boto3 client: no envelope layer. 4 clients: 4 threads for a few "
        "seconds, replaying requests signed ahead over keep-alive connections to a server (so "
        "the client's cost does not hide the server's), or calling LocalKeyService in process; "
        "the rate is counted, p50/p99 latencies are below. `benchmarks/test_bench_aws.py`, "
        "`benchmarks/test_bench_server.py`.",
        "rate",
    ),
    "local-kms": Area(
        "LocalKeyService: per-request derived keys against the old layout",
        "The same operations with blob layout 2 (an HKDF-SHA256 derivation per call) and the old "
        "layout 1, in one run: blocks of 200 calls alternating between the layouts, 15 blocks "
        "each, in the thread's CPU time; each rate is the median over its blocks. "
        "`benchmarks/test_bench_local.py`.",
        "rate",
    ),
    "signing": Area(
        "Signatures and MACs: LocalKeyService against raw `cryptography`",
        "1 KiB messages; the same algorithm on a key held in memory is the limit. "
        "`benchmarks/test_bench_signing.py`.",
        "rate",
    ),
    "s3": Area(
        "S3 put + get",
        "One put_object and one get_object of the whole object per round through moto's S3 "
        "on 127.0.0.1 (KMS on moto too), each client in a process of its own so its peak RSS "
        "is its own: plain boto3 (no encryption, the limit), envelope's EncryptedS3Client in "
        "memory and streaming (upload_file/download_fileobj), and the official "
        "amazon-s3-encryption-client-python. `benchmarks/test_bench_s3.py`.",
        "throughput",
        (
            Chart("s3-memory.png", "S3 put + get: peak RSS by object size",
                  "object size", "peak RSS (MB)", "peak RSS (MB)", None,
                  ("envelope", "envelope-stream", "official S3EC", "boto3 (plain)")),
        ),
    ),
    "rewrap": Area(
        "Rewrap against re-encrypt",
        "Moving a message's or an object's data key to the key's newest version after a "
        "rotation: rewrap (header or metadata only) against decrypting and encrypting again. "
        "Files: a message under a LocalKeyService key. S3: moto's S3 and KMS, 8 MiB parts; the "
        "bytes each client sent and received are counted by a relay. "
        "`benchmarks/test_bench_rewrap.py`, `benchmarks/test_bench_s3_rewrap.py`.",
        "time",
    ),
    "cli": Area(
        "Command line: whole-process time",
        "Each round starts a fresh process and waits for it (wall clock). The commands of a case "
        "take turns, one process each per cycle, 15 cycles after 2 warm-up cycles, so they share "
        "the machine's load; cells are the medians. "
        "`envelope` uses the local keystore (a KMS key); `aws-encryption-cli` 4.3.0 runs in its "
        "own venv with a raw AES key provider of ours (no KMS), suite "
        "AES_256_GCM_HKDF_SHA512_COMMIT_KEY, 64 KiB frames, the same one-entry context; "
        "`python -c pass` in envelope's venv is the floor. Bytecode is compiled first for "
        "both. `benchmarks/test_bench_cli.py`.",
        "time",
    ),
}


def quick(config: pytest.Config) -> bool:
    """True in the smoke run (``--benchmark-disable``): every case runs once, small."""
    return bool(config.getoption("benchmark_disable"))


@dataclass(frozen=True)
class Target:
    """A goal the report checks in its run: the subject's time per operation in ``case`` at most
    ``at_most`` times the peer's."""

    what: str
    area: str
    case: str
    subject: str
    peer: str
    at_most: float


TARGETS: tuple[Target, ...] = (
    Target("`envelope encrypt` of 1 KiB, whole process (median wall clock)", "cli",
           "encrypt 1 KiB", "envelope", "aws-encryption-cli", 0.5),
    Target("1 KiB round trip: encrypt + decrypt, RawAesKey, suite 0x0478, one-entry context "
           "(median thread CPU time)", "messages", "1 KiB round trip (CPU time)", "envelope",
           "tink", 1.5),
)  # fmt: skip


def tag(
    benchmark: Any,
    *,
    area: str,
    case: str,
    impl: str,
    role: str,
    nbytes: int | None = None,
    ops: int | None = None,
    rate: float | None = None,
    figures: dict[str, float] | None = None,
    series: str | None = None,
    x: float | None = None,
) -> None:
    """Describe ``benchmark`` for the report (see the module docstring).

    Raises:
        ValueError: An unknown area or role.
    """
    if area not in AREAS:
        raise ValueError(f"unknown benchmark area {area!r}")
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    benchmark.group = f"{area}: {case}"
    info = benchmark.extra_info
    info.update(area=area, case=case, impl=impl, role=role)
    for name, value in (("bytes", nbytes), ("ops", ops), ("rate", rate), ("series", series),
                        ("x", x)):  # fmt: skip
        if value is not None:
            info[name] = value
    if figures:
        info.setdefault("figures", {}).update(figures)


def figure(benchmark: Any, name: str, value: float) -> None:
    """Add one named figure to a benchmark already tagged."""
    benchmark.extra_info.setdefault("figures", {})[name] = value
