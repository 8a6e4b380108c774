"""The root key that wraps every backing key: from a passphrase (scrypt) or a ``root.key`` file.

The root key never touches the database. What is stored is only how to find it again: the mode,
the scrypt salt and cost for a passphrase, and a verifier (a fixed text sealed under the root
key) so that a wrong passphrase or a foreign ``root.key`` is refused before anything is written.
"""

from __future__ import annotations

import contextlib
import os
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from envelope.errors import KeystoreError, WrongPassphraseError
from envelope.keys.store.files import check_file, read_private

ROOT_KEY_NAME = "root.key"
NEW_ROOT_KEY_NAME = "root.key.new"
"""A rekey writes its new root key to ``root.key.new-RANDOM`` (older versions: this name)."""

# scrypt cost for new passphrase keystores: N=2^17, r=8 uses 128 MiB and about half a second,
# the strength OWASP recommends for scrypt. Existing stores keep the cost stored in them.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
# Refuse absurd stored costs from a damaged or hostile file before any work: scrypt needs
# 128 * N * r bytes (at most 1 GiB here, 8 times the default) and time in proportion to
# N * r * p (at most 16 times the default).
_MAX_SCRYPT_MEMORY = 2**30
_MAX_SCRYPT_WORK = 16 * SCRYPT_N * SCRYPT_R * SCRYPT_P

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
    """Metadata and key for a new store (or a rekey) protected by ``passphrase``.

    Raises:
        KeystoreError: the passphrase is empty (it would protect nothing) or not UTF-8.
    """
    if not passphrase:
        raise KeystoreError(
            "an empty passphrase protects nothing: give one, or none for a root-key file"
        )
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


def open_root_key(home: Path, meta: dict[str, bytes], passphrase: str | None) -> bytes:
    """Find the root key a store's metadata describes and check it against the verifier.

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
    # root.key, else the key of a committed rekey not yet moved into place (read, never moved
    # here: see settle_files), else root.key once more in case it was moved in between.
    found = False
    for name in (ROOT_KEY_NAME, *pending_names(meta), ROOT_KEY_NAME):
        held = _read_key_file(home / name, missing_ok=True)
        found = found or (held is not None and name == ROOT_KEY_NAME)
        if held is not None and verifies(held, verifier):
            return held
    if not found:
        raise KeystoreError(f"the root-key file {home / ROOT_KEY_NAME} of this keystore is missing")
    raise WrongPassphraseError(f"the root-key file does not open the keystore in {home}")


# --- the root-key files of a rekey -------------------------------------------------------------
# A rekey writes its new root key under a name of its own (root.key.new-RANDOM) inside its
# transaction, and the metadata it commits names that file (PENDING_META). Afterwards the file is
# moved over root.key (settle_files). No file is ever removed or overwritten on the strength of
# what the database shows at that moment: a process killed inside SQLite's COMMIT can leave a
# commit in the write-ahead log that no live connection sees, yet that the next recovery brings
# back; its root key must still be on disk then. So a rekey's leftovers (rekeys killed before
# their commit) are removed only by a later rekey, after its own commit has overwritten any such
# hidden commit in the log, and only those it saw before that commit.

PENDING_META = "root_pending"
"""Metadata: the file holding a committed rekey's new root key (empty: remove root.key)."""


def pending_names(meta: dict[str, bytes]) -> list[str]:
    """Where a committed rekey's new root key may wait: the file its metadata names, and the
    single name older versions used."""
    named = meta.get(PENDING_META, b"").decode(errors="replace")
    return [name for name in (named, NEW_ROOT_KEY_NAME) if _is_pending_name(name)]


def _is_pending_name(name: str) -> bool:
    return name == NEW_ROOT_KEY_NAME or (
        name.startswith(NEW_ROOT_KEY_NAME + "-") and "/" not in name and len(name) < 64
    )


def pending_files(home: Path) -> list[str]:
    """Every rekey's file in ``home`` (committed and waiting, or left over)."""
    try:
        return sorted(name for name in os.listdir(home) if _is_pending_name(name))
    except OSError as e:
        raise KeystoreError(f"cannot list the keystore folder {home}: {e.strerror}") from None


def installed(home: Path, key: bytes) -> bool:
    """True if ``root.key`` holds ``key`` (False while a rekey's new key waits to be moved)."""
    return _read_key_file(home / ROOT_KEY_NAME, missing_ok=True) == key


def write_pending_key(home: Path, key: bytes) -> str:
    """Write a rekey's new root key to a new file of its own; returns the file's name."""
    name = f"{NEW_ROOT_KEY_NAME}-{os.urandom(8).hex()}"
    write_key_file(home, key, name)
    fsync_folder(home)
    return name


def settle_files(home: Path, meta: dict[str, bytes]) -> None:
    """Bring ``root.key`` in line with the committed metadata ``meta``.

    Call it only inside a write transaction, with ``meta`` read in it. File mode: unless
    ``root.key`` opens the store, the committed rekey's file that does replaces it. Passphrase
    mode: a ``root.key`` protects nothing any more and is removed. Nothing else is removed (see
    above).

    Raises:
        KeystoreError: a file cannot be read, moved or removed.
    """
    current = home / ROOT_KEY_NAME
    if meta.get("root_mode") == b"passphrase":
        if os.path.lexists(current):
            _change(os.unlink, current)
            fsync_folder(home)
        return
    verifier = meta.get("verifier", b"")
    key = _read_key_file(current, missing_ok=True)
    if key is not None and verifies(key, verifier):
        return
    for name in pending_names(meta):
        candidate = _read_key_file(home / name, missing_ok=True)
        if candidate is not None and verifies(candidate, verifier):
            _change(os.replace, home / name, current)
            fsync_folder(home)
            return


def remove_files(home: Path, names: list[str]) -> None:
    """Remove rekey leftovers (see above for when that is safe); best effort, as the rekey has
    committed by then and must not be reported as failed."""
    for name in names:
        with contextlib.suppress(OSError):
            os.unlink(home / name)
    if names:
        fsync_folder(home)


def file_identity(path: Path) -> tuple[int, int] | None:
    """The (device, inode) of a file, to find other names for it later; None if absent."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise KeystoreError(f"cannot use the keystore file {path}: {e.strerror}") from None
    return info.st_dev, info.st_ino


def remove_other_names(home: Path, identity: tuple[int, int] | None) -> None:
    """Remove temporary names (``.root.key.*``) that are hard links to a retired root key.

    ``root_key_from_file`` links its temporary file to ``root.key`` and then removes the
    temporary name; a process killed in between leaves a second name for the root key, which
    would keep a retired root key on disk after a rekey. Best effort, like ``remove_files``.
    """
    if identity is None:
        return
    with contextlib.suppress(OSError):
        for name in os.listdir(home):
            if name.startswith(f".{ROOT_KEY_NAME}."):
                info = os.lstat(home / name)
                if (info.st_dev, info.st_ino) == identity:
                    os.unlink(home / name)


def _change(action: Callable[..., None], *paths: Path) -> None:
    try:
        action(*paths)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise KeystoreError(f"cannot update the root-key file {paths[0]}: {e.strerror}") from None


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
    if not (
        n >= 2
        and r >= 1
        and p >= 1
        and 128 * n * r <= _MAX_SCRYPT_MEMORY
        and n * r * p <= _MAX_SCRYPT_WORK
        and len(salt) == 32
    ):
        raise KeystoreError("the keystore's passphrase parameters are out of range")
    try:
        return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret)
    except MemoryError:
        pass  # raised below, unchained
    raise KeystoreError(f"not enough memory for the keystore's passphrase cost (scrypt N={n})")


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
        pass  # raised below, outside this block: the error's ``object`` is the passphrase, and
        # ``from None`` would still keep it as ``__context__`` for a traceback or reporter
    raise KeystoreError("the passphrase (ENVELOPE_PASSPHRASE) is not valid UTF-8 text")


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


@overload
def _read_key_file(path: Path) -> bytes: ...
@overload
def _read_key_file(path: Path, *, missing_ok: bool) -> bytes | None: ...
def _read_key_file(path: Path, *, missing_ok: bool = False) -> bytes | None:
    if missing_ok and not check_file(path, secret=True):
        return None
    try:
        data = read_private(path, limit=32)
    except KeystoreError:
        if missing_ok and not os.path.lexists(path):
            return None  # moved away since it was checked (a rekey settled its files)
        raise
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
