"""SIGKILL during S3 puts (multipart uploads in flight, instruction files) and rewraps: every
object stays either its old or its new self, and always decrypts.

moto's S3 server runs on 127.0.0.1; the data keys are wrapped by a local KMS key that the child
rotates now and then. A forked child replaces objects (announcing each new generation before it
starts and confirming it after) and rewraps them; it dies at a random moment, and then every
object is read: its plaintext must be the last confirmed generation or the one that was in
flight, never an error and never anything else. Half the kills come from the parent after a
random delay (mostly mid-request: a part upload, a copy); the other half the child makes itself
right after its N-th S3 call returned, N random (or after its first UploadPart): that lands on
every gap between two writes, such as the one between an object and its instruction file, which
a timer almost never hits. Instruction-file objects are written with ``replace_in_one_write``:
without it, such a replacement is two writes (as in the official clients), and a kill between
them leaves an object that fails with a clear error until it is written again (see
``test_without_one_write_a_kill_between_the_writes_is_a_clear_error`` below).
"""

from __future__ import annotations

import contextlib
import io
import random
import threading
from pathlib import Path
from typing import Any

import pytest

from envelope.errors import EnvelopeError, LimitExceededException, S3AuthenticationError
from envelope.keys.local import LocalKeyService
from envelope.message import KmsKey
from envelope.s3 import EncryptedS3Client
from tests.faults.tally import Tally, fork_and_kill, kill_self, kills
from tests.moto_server import MotoServer, boto3_client, moto_env, moto_server

__all__ = ["moto_env", "moto_server"]

KILLS = kills("s3", full=60, ci=12)
MIB = 1024 * 1024
BUCKET = "faults"
# name: (size, format, instruction file)
OBJECTS = {
    "headers-small": (100_000, "v3", False),
    "headers-multipart": (11 * MIB, "v3", False),
    "instruction-small": (100_000, "v3", True),
    "instruction-multipart": (11 * MIB, "v3", True),
    "v2-multipart": (11 * MIB, "v2", False),
}


def _content(name: str, generation: int) -> bytes:
    return random.Random(f"{name}/{generation}").randbytes(OBJECTS[name][0])


def _client(server: MotoServer, kms: LocalKeyService, arn: str, name: str) -> EncryptedS3Client:
    _, fmt, instruction = OBJECTS[name]
    return EncryptedS3Client(boto3_client(server, "s3"), keys=KmsKey(kms, arn), format=fmt,
                             instruction_file=instruction, replace_in_one_write=instruction,
                             multipart_threshold=5 * MIB,
                             part_size=5 * MIB, max_concurrency=2)  # fmt: skip


def _put(client: EncryptedS3Client, name: str, generation: int) -> None:
    client.upload_fileobj(io.BytesIO(_content(name, generation)), BUCKET, name)


def _kill_after(clients: dict[str, EncryptedS3Client], calls: int) -> None:
    """SIGKILL this process once ``calls`` S3 calls (of any client) have returned; with
    ``calls`` 0, once the first UploadPart returned (a multipart upload surely in flight)."""
    lock, count = threading.Lock(), [0]

    def after_call(**_: Any) -> None:
        with lock:
            count[0] += 1
            if count[0] == calls:
                kill_self()

    for client in clients.values():
        events = client.s3_client.meta.events
        if calls:
            events.register("after-call.s3", after_call)
        else:
            events.register("after-call.s3.UploadPart", lambda **_: kill_self())


def _work(server: MotoServer, home: Path, arn: str, start: dict[str, int], seed: int,
          kill_at: int | None, report: Any) -> None:  # fmt: skip
    rng = random.Random(seed)
    kms = LocalKeyService(home)
    clients = {name: _client(server, kms, arn, name) for name in OBJECTS}
    if kill_at is not None:
        _kill_after(clients, kill_at)
    generation = dict(start)
    while True:
        name = rng.choice(list(OBJECTS))
        choice = rng.random()
        if choice < 0.1:
            with contextlib.suppress(LimitExceededException):
                kms.rotate_key_on_demand(key_id=arn)
        elif choice < 0.55:
            generation[name] += 1
            report({"op": "putting", "name": name, "g": generation[name]})
            _put(clients[name], name, generation[name])
            report({"op": "put", "name": name, "g": generation[name]})
        else:
            clients[name].rewrap_object(BUCKET, name)
            report({"op": "rewrap", "name": name})


def _check(server: MotoServer, home: Path, arn: str, done: dict[str, int],
           flight: dict[str, int], tally: Tally) -> None:  # fmt: skip
    with LocalKeyService(home) as kms:
        for name in OBJECTS:
            tally.objects += 1
            out = io.BytesIO()
            try:
                _client(server, kms, arn, name).download_fileobj(BUCKET, name, out)
            except EnvelopeError:
                tally.half_rewrapped += 1
                continue
            allowed = {done[name], flight.get(name, done[name])}
            tally.half_rewrapped += not any(out.getvalue() == _content(name, g) for g in allowed)


@pytest.mark.slow
def test_sigkill_during_s3_put_and_rewrap_leaves_old_or_new(
    moto_env: MotoServer, tmp_path: Path
) -> None:
    rng = random.Random(16_2029)
    home = tmp_path / "home"
    s3 = boto3_client(moto_env, "s3")
    s3.create_bucket(Bucket=BUCKET)
    with LocalKeyService(home) as kms:
        arn = kms.create_key().key_metadata.arn
        for name in OBJECTS:
            _put(_client(moto_env, kms, arn, name), name, 0)
    done = dict.fromkeys(OBJECTS, 0)
    tally = Tally("s3")
    ops = 0
    records_seen: list[int] = []
    for _ in range(KILLS):
        seed = rng.randrange(2**32)
        start = dict(done)
        kill_at = (None, rng.randint(1, 40), None, 0)[len(records_seen) % 4]
        records = fork_and_kill(lambda report, s=seed, g=start, k=kill_at: _work(
                                    moto_env, home, arn, g, s, k, report),
                                rng, max_delay=1.5 if kill_at is None else 60)  # fmt: skip
        records_seen.append(len(records))
        tally.kills += 1
        ops += len(records)
        flight: dict[str, int] = {}
        for record in records:
            if record["op"] == "putting":
                flight[str(record["name"])] = int(str(record["g"]))
            elif record["op"] == "put":
                done[str(record["name"])] = int(str(record["g"]))
                flight.pop(str(record["name"]), None)
        _check(moto_env, home, arn, done, flight, tally)
        assert tally.failures() == 0, (tally, records[-3:])
        for name, g in flight.items():  # the next child counts on from the one on S3 now
            out = io.BytesIO()
            with LocalKeyService(home) as kms:
                _client(moto_env, kms, arn, name).download_fileobj(BUCKET, name, out)
            if out.getvalue() == _content(name, g):
                done[name] = g
    uploads = s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    assert ops > KILLS, ops
    assert uploads, "no multipart upload was ever cut short: the kills missed the uploads"
    tally.save()


@pytest.mark.parametrize("size", [100_000, 11 * MIB], ids=["put", "multipart"])
def test_without_one_write_a_kill_between_the_writes_is_a_clear_error(
    moto_env: MotoServer, tmp_path: Path, size: int
) -> None:
    """The default (no ``replace_in_one_write``): the writer dies right after the object's
    write, before its instruction file's. The old instruction file's data key fails the new
    object's key commitment: a clear error, never wrong plaintext, until the object is written
    again."""
    home = tmp_path / "home"
    s3 = boto3_client(moto_env, "s3")
    s3.create_bucket(Bucket=BUCKET)
    with LocalKeyService(home) as kms:
        arn = kms.create_key().key_metadata.arn

    def client(kms: LocalKeyService) -> EncryptedS3Client:
        return EncryptedS3Client(boto3_client(moto_env, "s3"), keys=KmsKey(kms, arn),
                                 instruction_file=True, multipart_threshold=5 * MIB,
                                 part_size=5 * MIB)  # fmt: skip

    with LocalKeyService(home) as kms:
        client(kms).upload_fileobj(io.BytesIO(b"old" * 1000), BUCKET, "o")

    def work(report: Any) -> None:
        writer = client(LocalKeyService(home))
        last = "CompleteMultipartUpload" if size > 5 * MIB else "PutObject"
        writer.s3_client.meta.events.register(f"after-call.s3.{last}", lambda **_: kill_self())
        writer.upload_fileobj(io.BytesIO(bytes(size)), BUCKET, "o")
        report({"op": "put"})  # never reached

    assert fork_and_kill(work, random.Random(1), max_delay=60) == []
    with LocalKeyService(home) as kms:
        with pytest.raises(S3AuthenticationError, match="key commitment"):
            client(kms).download_fileobj(BUCKET, "o", io.BytesIO())
        client(kms).upload_fileobj(io.BytesIO(b"new"), BUCKET, "o")
        out = io.BytesIO()
        client(kms).download_fileobj(BUCKET, "o", out)
        assert out.getvalue() == b"new"
