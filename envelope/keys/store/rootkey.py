"""The root key that wraps every backing key: from a passphrase (scrypt) or a ``root.key`` file.

The root key never touches the database. What is stored is only how to find it again: the mode,
the scrypt salt and cost for a passphrase, and a verifier (a fixed text sealed under the root
key) so that a wrong passphrase or a foreign ``root.key`` is refused before anything is written.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from envelope.errors import KeystoreError, WrongPassphraseError

ROOT_KEY_NAME = "root.key"

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
    if mode == "passphrase":
        if passphrase is None:
            raise KeystoreError(
                f"the keystore in {home} is protected by a passphrase; set ENVELOPE_PASSPHRASE"
            )
        key = known or derive(passphrase, meta)
    elif mode == "file":
        if passphrase is not None:
            raise KeystoreError(
                f"the keystore in {home} uses a root-key file, not a passphrase; "
                "unset ENVELOPE_PASSPHRASE"
            )
        key = known or root_key_from_file(home, create=False)
    else:
        raise KeystoreError(f"the keystore in {home} is damaged (unknown root mode)")
    verifier = meta.get("verifier", b"")
    try:
        AESGCM(key).decrypt(verifier[:12], verifier[12:], _VERIFIER_AAD)
    except (InvalidTag, ValueError):
        if mode == "passphrase":
            raise WrongPassphraseError("the passphrase does not open this keystore") from None
        raise WrongPassphraseError(
            f"the root-key file does not open the keystore in {home}"
        ) from None
    return key


def derive(passphrase: str, meta: dict[str, bytes]) -> bytes:
    """scrypt over the passphrase with the salt and cost stored in ``meta``.

    Raises:
        KeystoreError: the stored parameters are missing or out of range.
    """
    try:
        n = int(meta["scrypt_n"])
        r = int(meta["scrypt_r"])
        p = int(meta["scrypt_p"])
        salt = meta["scrypt_salt"]
    except (KeyError, ValueError):
        raise KeystoreError("the keystore's passphrase parameters are damaged") from None
    if not (2 <= n <= _MAX_SCRYPT_N and 1 <= r <= 32 and 1 <= p <= 16 and len(salt) == 32):
        raise KeystoreError("the keystore's passphrase parameters are out of range")
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


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
    if not create and not path.exists():
        raise KeystoreError(f"the root-key file {path} of this keystore is missing")
    if not path.exists():
        temp = home / f".{ROOT_KEY_NAME}.{os.getpid()}.{os.urandom(4).hex()}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, os.urandom(32))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another process won the race; use its key
        finally:
            os.unlink(temp)
        fsync_folder(home)
    data = path.read_bytes()
    if len(data) != 32:
        raise KeystoreError(f"root-key file {path} is damaged (it must hold 32 bytes)")
    return data


def fsync_folder(home: Path) -> None:
    fd = os.open(home, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
