"""Rewrap a message file after a rotation, against decrypting and encrypting it again.

One message of SIZE (256 MiB under ``make bench``, 1 MiB in the smoke run) under a
LocalKeyService key that was rotated after the message was written. Each round moves the
message's data key to the key's newest version:

- ``rewrap``: ``rewrap_file`` (ReEncrypt of the EDK, a new header and tag; the body is copied
  as it is, into a temporary file renamed over the message);
- ``decrypt + encrypt``: ``decrypt_stream`` to a file, then ``encrypt_stream`` to the message
  (a new data key, every frame decrypted and encrypted again).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from convention import quick, tag

from envelope.keys.local import LocalKeyService
from envelope.message import KmsKey, decrypt_stream, encrypt_stream, inspect, rewrap_file

MIB = 1024 * 1024
CONTEXT = {"purpose": "benchmark"}


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A keystore with a rotated key, a plaintext file and one message of it per case."""
    size = MIB if quick(request.config) else 256 * MIB
    folder = Path(tmp_path_factory.mktemp("bench-rewrap"))
    with LocalKeyService(folder / "home") as kms:
        arn = kms.create_key().key_metadata.arn
        key = KmsKey(kms, arn)
        plain = folder / "plain"
        block = os.urandom(MIB)
        with plain.open("wb") as handle:
            for _ in range(size // MIB):
                handle.write(block)
        for name in ("rewrap", "decrypt + encrypt"):
            with plain.open("rb") as src, (folder / name).open("wb") as dst:
                encrypt_stream(src, dst, keys=[key], encryption_context=CONTEXT)
        kms.rotate_key_on_demand(key_id=arn)
        yield {"kms": kms, "key": key, "folder": folder, "size": size}


def _reencrypt(world: dict[str, Any]) -> None:
    folder, key = world["folder"], world["key"]
    message, plain = folder / "decrypt + encrypt", folder / "decrypted"
    with message.open("rb") as src, plain.open("wb") as dst:
        decrypt_stream(src, dst, keys=[key], encryption_context=CONTEXT)
    with plain.open("rb") as src, message.open("wb") as dst:
        encrypt_stream(src, dst, keys=[key], encryption_context=CONTEXT)
    plain.unlink()


def _message_id(path: Path) -> str:
    with path.open("rb") as handle:
        return inspect(handle).message_id


@pytest.mark.parametrize("impl", ["rewrap", "decrypt + encrypt"])
def test_rewrap_file_versus_reencrypt(benchmark: Any, world: dict[str, Any], impl: str) -> None:
    size = world["size"]
    tag(benchmark, area="rewrap", case=f"message file {size // MIB} MiB", impl=impl,
        role="subject" if impl == "rewrap" else "peer", ops=1)  # fmt: skip
    path = world["folder"] / impl
    before = _message_id(path)
    if impl == "rewrap":
        run: Any = lambda: rewrap_file(path, keys=[world["key"]])  # noqa: E731
    else:
        run = lambda: _reencrypt(world)  # noqa: E731
    benchmark.pedantic(run, rounds=3, iterations=1)
    # What the figures rest on: rewrap keeps the message id (same body), re-encryption does not.
    assert (_message_id(path) == before) == (impl == "rewrap")
    assert path.stat().st_size > size
