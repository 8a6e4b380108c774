"""The root key that wraps every backing key: from a passphrase (scrypt) or a ``root.key`` file.

The root key never touches the database. What is stored is only how to find it again: the mode,
the scrypt salt and cost for a passphrase, and a verifier (a fixed text sealed under the root
key) so that a wrong passphrase or a foreign ``root.key`` is refused before anything is written.
"""

from __future__ import annotations

import contextlib
import os
import unicodedata
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from envelope.errors import KeystoreError, WrongPassphraseError
from envelope.keys.store.files import check_file, read_private

ROOT_KEY_NAME = "root.key"
NEW_ROOT_KEY_NAME = "root.key.new"
"""A rekey writes the next root-key file here; it replaces ``root.key`` once the store commits."""

# scrypt cost for new passphrase keystores: N=2^17, r=8 uses 128 MiB and about half a second,
# the strength OWASP recommends for scrypt. Existing stores keep the cost stored in them.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
_MAX_SCRYPT_N = 2**22  # refuse absurd stored costs from a damaged or hostile file

_VERIFIER_PLAINTEXT = b"envelope keystore root key check"
_VERIFIER_AAD = b"verifier"


class RootKey:
    """Wraps and unwraps backing keys, each bound to its key id and version."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "RootKey(<secret>)"

    def wrap(self, key_id: str, version: int, material: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, material, f"{key_id}/{version}".encode())

    def unwrap(self, key_id: str, version: int, wrapped: bytes) -> bytes:
        """Raises: KeystoreError: the stored material was altered or belongs elsewhere."""
        try:
            return self._aead.decrypt(wrapped[:12], wrapped[12:], f"{key_id}/{version}".encode())
        except (InvalidTag, ValueError):
            raise KeystoreError(
                f"backing key {key_id} version {version} is damaged in the keystore"
            ) from None


def new_file_meta(home: Path) -> tuple[dict[str, bytes], bytes]:
    """Metadata and key for a new store protected by a ``root.key`` file (created if absent)."""
    key = root_key_from_file(home, create=True)
    return {"root_mode": b"file", "verifier": _verifier(key)}, key


def new_passphrase_meta(passphrase: str, scrypt_n: int) -> tuple[dict[str, bytes], bytes]:
    """Metadata and key for a new store protected by ``passphrase``."""
    meta = {
        "root_mode": b"passphrase",
        "scrypt_n": str(scrypt_n).encode(),
        "scrypt_r": str(SCRYPT_R).encode(),
        "scrypt_p": str(SCRYPT_P).encode(),
        "scrypt_salt": os.urandom(32),
    }
    key = derive(passphrase, meta)
    meta["verifier"] = _verifier(key)
    return meta, key


def open_root_key(
    home: Path, meta: dict[str, bytes], passphrase: str | None, *, known: bytes | None = None
) -> bytes:
    """Find the root key a store's metadata describes and check it against the verifier.

    Args:
        known: the key this process just derived for the same metadata (skips scrypt).

    Raises:
        KeystoreError: the store wants the other kind of root key, or its metadata is damaged.
        WrongPassphraseError: the passphrase or ``root.key`` does not open this store.
    """
    mode = meta.get("root_mode", b"").decode(errors="replace")
    verifier = meta.get("verifier", b"")
    if mode == "passphrase":
        if passphrase is None:
            raise KeystoreError(
                f"the keystore in {home} is protected by a passphrase; set ENVELOPE_PASSPHRASE"
            )
        if known is not None:
            return known
        key = derive(passphrase, meta)
        if verifies(key, verifier):
            return key
        raw = _encoded(passphrase, normalize=False)
        if raw != _encoded(passphrase):
            legacy = derive_raw(raw, meta)  # a store made before passphrases were normalised
            if verifies(legacy, verifier):
                return legacy
        raise WrongPassphraseError("the passphrase does not open this keystore")
    if mode != "file":
        raise KeystoreError(f"the keystore in {home} is damaged (unknown root mode)")
    if passphrase is not None:
        raise KeystoreError(
            f"the keystore in {home} uses a root-key file, not a passphrase; "
            "unset ENVELOPE_PASSPHRASE"
        )
    key = known or root_key_from_file(home, create=False)
    if verifies(key, verifier):
        # A leftover root.key.new (a rekey that died before its commit, or one in progress in
        # another process) is left alone: it opens nothing, and the next rekey replaces it.
        return key
    pending = home / NEW_ROOT_KEY_NAME
    if check_file(pending, secret=True):
        # A rekey committed but died before moving its new root key into place: finish it.
        candidate = _read_key_file(pending)
        if verifies(candidate, verifier):
            with contextlib.suppress(FileNotFoundError):  # another opener may finish it first
                os.replace(pending, home / ROOT_KEY_NAME)
            fsync_folder(home)
            return candidate
    raise WrongPassphraseError(f"the root-key file does not open the keystore in {home}")


def verifies(key: bytes, verifier: bytes) -> bool:
    """True if ``key`` opens a store's verifier."""
    try:
        AESGCM(key).decrypt(verifier[:12], verifier[12:], _VERIFIER_AAD)
    except (InvalidTag, ValueError):
        return False
    return True


def new_verifier(key: bytes) -> bytes:
    """A verifier for a new root key."""
    return _verifier(key)


def derive(passphrase: str, meta: dict[str, bytes]) -> bytes:
    """scrypt over the NFC-normalised passphrase with the salt and cost stored in ``meta``.

    Raises:
        KeystoreError: the stored parameters are missing or out of range, or the passphrase is
            not UTF-8.
    """
    return derive_raw(_encoded(passphrase), meta)


def derive_raw(secret: bytes, meta: dict[str, bytes]) -> bytes:
    """scrypt over already-encoded passphrase bytes (see ``derive``)."""
    try:
        n = int(meta["scrypt_n"])
        r = int(meta["scrypt_r"])
        p = int(meta["scrypt_p"])
        salt = meta["scrypt_salt"]
    except (KeyError, ValueError):
        raise KeystoreError("the keystore's passphrase parameters are damaged") from None
    if not (2 <= n <= _MAX_SCRYPT_N and 1 <= r <= 32 and 1 <= p <= 16 and len(salt) == 32):
        raise KeystoreError("the keystore's passphrase parameters are out of range")
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret)


def _encoded(passphrase: str, *, normalize: bool = True) -> bytes:
    """The passphrase as UTF-8, NFC-normalised so the same text typed anywhere opens the store.

    Raises:
        KeystoreError: it holds bytes that are not UTF-8 (as a non-UTF-8 environment variable
            does); the message never quotes it.
    """
    text = unicodedata.normalize("NFC", passphrase) if normalize else passphrase
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise KeystoreError(
            "the passphrase (ENVELOPE_PASSPHRASE) is not valid UTF-8 text"
        ) from None


def _verifier(key: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, _VERIFIER_PLAINTEXT, _VERIFIER_AAD)


def root_key_from_file(home: Path, *, create: bool) -> bytes:
    """Read ``root.key``; with ``create``, first make it (0600) with 32 random bytes if absent.

    An existing keystore never creates a root-key file: a missing one is an error, so opening
    it changes nothing on disk.

    The key is written and synced under a private temporary name, then hard-linked to
    ``root.key``: ``link`` fails if the name exists, so exactly one process's key wins and no
    reader ever sees a partly written file.

    Raises:
        KeystoreError: the file is missing (and not to be created) or damaged.
    """
    path = home / ROOT_KEY_NAME
    exists = check_file(path, secret=True)
    if not create and not exists:
        raise KeystoreError(f"the root-key file {path} of this keystore is missing")
    if not exists:
        temp = write_key_file(home, os.urandom(32))
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another process won the race; use its key
        finally:
            os.unlink(temp)
        fsync_folder(home)
        check_file(path, secret=True)
    return _read_key_file(path)


def write_key_file(home: Path, key: bytes, name: str | None = None) -> Path:
    """Write ``key`` to a new private file (0600, synced) in ``home``; returns its path.

    Without ``name``, the file gets a unique temporary name.
    """
    path = home / (name or f".{ROOT_KEY_NAME}.{os.getpid()}.{os.urandom(4).hex()}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as e:
        raise KeystoreError(f"cannot create the root-key file {path}: {e.strerror}") from None
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def _read_key_file(path: Path) -> bytes:
    data = read_private(path, limit=32)
    if len(data) != 32:
        raise KeystoreError(f"root-key file {path} is damaged (it must hold 32 bytes)")
    return data


def fsync_folder(home: Path) -> None:
    """Make a rename or a new name in ``home`` durable."""
    fd = os.open(home, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
