"""No secret rides along on an exception: not in its text, its repr, nor anything reachable from
its ``__cause__``/``__context__`` chain (a traceback printer, ``logging.exception`` or an error
reporter walks that chain and the objects hanging off it).
"""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from envelope.errors import KeyServiceUnavailableError, KeystoreError
from envelope.keys.local import LocalKeyService

SECRET = "correct horse battery staple"


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__]


def _reachable_text(error: BaseException) -> str:
    """Everything an error reporter could print from the chain: texts, reprs, attributes, and
    the attributes of objects kept in them (such as a prepared HTTP request)."""
    parts = []
    for item in _chain(error):
        parts += [str(item), repr(item), repr(item.args)]
        for value in vars(item).values():
            parts.append(repr(value))
            if hasattr(value, "__dict__"):
                parts.append(repr(vars(value)))
            if isinstance(value, dict):
                parts += [repr(vars(v)) for v in value.values() if hasattr(v, "__dict__")]
    return "\n".join(parts)


def _leaks(error: BaseException, secret: bytes) -> bool:
    text = _reachable_text(error)
    return any(
        form in text
        for form in (
            secret.decode(errors="replace"),
            base64.b64encode(secret).decode(),
            repr(secret)[2:-1],
        )
    )


def test_a_passphrase_that_is_not_utf8_is_not_kept_in_the_chain(tmp_path: Path) -> None:
    """Before: ``raise ... from None`` hid the UnicodeEncodeError from tracebacks but kept it
    as ``__context__``, and its ``object`` is the whole passphrase."""
    with pytest.raises(KeystoreError) as caught:
        LocalKeyService(tmp_path, passphrase=SECRET + "\udcff", _scrypt_n=2**10)
    assert "not valid UTF-8" in str(caught.value)
    assert not _leaks(caught.value, SECRET.encode())


@pytest.fixture
def closing_server() -> Iterator[str]:
    """A server on 127.0.0.1 that reads each request and closes the connection unanswered."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            with connection:
                connection.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_a_connection_closed_mid_request_keeps_no_plaintext_in_the_chain(
    closing_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the KeyServiceUnavailableError chained botocore's ConnectionClosedError, which
    holds the prepared request, whose body carries the plaintext (base64) of the Encrypt."""
    from envelope.keys.aws import AwsKmsKeyService

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    secret = SECRET.encode()
    with AwsKmsKeyService(region_name="us-east-1", endpoint_url=closing_server) as aws:
        with pytest.raises(KeyServiceUnavailableError) as caught:
            aws.encrypt(key_id="alias/anything", plaintext=secret)
        assert "cannot reach" in str(caught.value)
        assert not _leaks(caught.value, secret)


def test_an_empty_passphrase_is_refused_rather_than_protecting_nothing(tmp_path: Path) -> None:
    """Before: ``passphrase=""`` made a store "protected by a passphrase" that anyone opens with
    the empty string, and that the CLI (which reads an empty ENVELOPE_PASSPHRASE as unset)
    could not open at all; ``rekey(new_passphrase="")`` did the same to an existing store."""
    with pytest.raises(KeystoreError, match="empty"):
        LocalKeyService(tmp_path / "new", passphrase="", _scrypt_n=2**10)
    with LocalKeyService(tmp_path / "old") as kms:
        key_id = kms.create_key().key_metadata.key_id
        with pytest.raises(KeystoreError, match="empty"):
            kms.rekey(new_passphrase="")
        assert kms.root_mode == "file"
    with LocalKeyService(tmp_path / "old") as kms:  # unchanged: the root-key file opens it
        assert kms.describe_key(key_id=key_id).key_metadata.enabled
