"""The keystore's folder and files must be this user's alone, or the keystore is not opened.

Another local user who can write to the folder could plant ``root.key`` or empty ``-wal``/``-shm``
files before the first use and later read every backing key; one who can read ``root.key`` holds
the root key. So the folder and each file must be owned by the current user and not writable by
group or others (``root.key`` not readable either), no file may be a symbolic link, and missing
folders are created 0700 whatever the umask. Once the folder is private, nobody else can add or
replace a name in it, so the checks cannot be raced.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from envelope.errors import KeystoreError

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _uid() -> int | None:
    return os.geteuid() if hasattr(os, "geteuid") else None


def _describe_owner(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _check(path: Path, info: os.stat_result, *, what: str, secret: bool) -> None:
    uid = _uid()
    if uid is not None and info.st_uid != uid:
        raise KeystoreError(
            f"refusing to use {what} {path}: it belongs to {_describe_owner(info.st_uid)}, not "
            f"to the current user ({_describe_owner(uid)}); use a keystore folder of your own"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        raise KeystoreError(
            f"refusing to use {what} {path}: group or others may write to it "
            f"(mode {mode:04o}); fix it with: chmod go-w {path}"
        )
    if secret and mode & 0o044:
        raise KeystoreError(
            f"refusing to use {what} {path}: group or others may read it "
            f"(mode {mode:04o}); fix it with: chmod 600 {path}"
        )


def prepare_home(home: Path) -> None:
    """Create the keystore folder (and missing parents) 0700, then check that it is private.

    Raises:
        KeystoreError: it is not a folder, not the current user's, or writable by others.
    """
    missing: list[Path] = []
    folder = home
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass  # another process made it; it is checked below like any existing folder
        except OSError as e:
            raise KeystoreError(f"cannot create the keystore folder {path}: {e.strerror}") from None
        else:
            os.chmod(path, 0o700)  # the umask may have taken bits away; make it exactly 0700
    try:
        info = os.stat(home)  # a symbolic link to a folder of one's own is fine
    except OSError as e:
        raise KeystoreError(f"cannot use the keystore folder {home}: {e.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise KeystoreError(f"the keystore folder {home} is not a folder")
    _check(home, info, what="the keystore folder", secret=False)


def check_file(path: Path, *, secret: bool = False) -> bool:
    """Check an existing keystore file (never following a link); False if it does not exist.

    Raises:
        KeystoreError: it is a link or not a regular file, not the current user's, or open to
            others (``secret``: readable by others too).
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as e:
        raise KeystoreError(f"cannot use the keystore file {path}: {e.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise KeystoreError(f"refusing to use {path}: it is a symbolic link")
    if not stat.S_ISREG(info.st_mode):
        raise KeystoreError(f"refusing to use {path}: it is not a regular file")
    _check(path, info, what="the keystore file", secret=secret)
    return True


def create_private(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 unless it exists (race-free); True if created.

    Raises:
        KeystoreError: a link or another obstacle stands at the name.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600)
    except FileExistsError:
        return False
    except OSError as e:
        raise KeystoreError(f"cannot create the keystore file {path}: {e.strerror}") from None
    os.close(fd)
    return True


def read_private(path: Path, *, limit: int) -> bytes:
    """Read a small private file without following a link (at most ``limit`` + 1 bytes).

    Raises:
        KeystoreError: it is missing, a link, not a regular file, or cannot be read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC)
    except FileNotFoundError:
        raise KeystoreError(f"the keystore file {path} is missing") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise KeystoreError(f"refusing to use {path}: it is a symbolic link") from None
        raise KeystoreError(f"cannot read the keystore file {path}: {e.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeystoreError(f"refusing to use {path}: it is not a regular file")
        chunks = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    except OSError as e:
        raise KeystoreError(f"cannot read the keystore file {path}: {e.strerror}") from None
    finally:
        os.close(fd)
