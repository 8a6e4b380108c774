"""The keystore's folder and files must be this user's alone, or the keystore is not opened.

Another local user who can write to the folder could plant ``root.key`` or empty ``-wal``/``-shm``
files before the first use and later read every backing key; one who can read ``root.key`` holds
the root key. So the folder and each file must be owned by the current user and not writable by
group or others (``root.key`` not readable either), no file may be a symbolic link, and missing
folders are created 0700 whatever the umask. Once the folder is private, and every folder on the
way to it is closed to other writers (see ``prepare_home``), nobody else can add or replace a
name in it or replace the folder itself, so the checks cannot be raced.
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


def _private_group(gid: int) -> bool:
    """A user-private group: the user's own group, with no other member listed in it."""
    try:
        import grp
        import pwd

        members = set(grp.getgrgid(gid).gr_mem)
        name = pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return False
    return gid == os.getegid() and members <= {name}


def _check_on_the_way(home: Path, path: str, info: os.stat_result) -> None:
    """A folder on the way to the keystore: nobody but the user or root may replace its entries.

    A sticky folder (such as /tmp) lets others add entries but not rename or remove ours.
    """
    uid = _uid()
    if uid is not None and info.st_uid not in (0, uid):
        raise KeystoreError(
            f"refusing to use the keystore folder {home}: {path} on the way to it belongs to "
            f"{_describe_owner(info.st_uid)}, who could replace the keystore folder; "
            "keep the keystore under folders of your own"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & stat.S_ISVTX:
        return
    if mode & 0o002 or (mode & 0o020 and not _private_group(info.st_gid)):
        raise KeystoreError(
            f"refusing to use the keystore folder {home}: others may write to {path} on the "
            f"way to it (mode {mode:04o}) and replace the keystore folder; fix it with: "
            f"chmod go-w {path}"
        )


def _check_path(home: Path, path: str, depth: int = 0) -> str | None:
    """Walk ``path`` as the system resolves it, checking every folder looked into and every
    link followed; returns the real path, or None where it stops existing.

    Raises:
        KeystoreError: a folder or link on the way is not safe (see ``_check_on_the_way``).
    """
    if depth > 40:
        raise KeystoreError(f"refusing to use the keystore folder {home}: too many links")
    parts = Path(path).parts
    current = parts[0]
    for index, name in enumerate(parts[1:], start=1):
        last = index == len(parts) - 1
        _check_on_the_way(home, current, os.lstat(current))
        candidate = os.path.join(current, name)
        try:
            info = os.lstat(candidate)
        except FileNotFoundError:
            return None  # created below, 0700, in a folder just checked
        if stat.S_ISLNK(info.st_mode):
            uid = _uid()
            if info.st_uid not in (0, uid):  # in a sticky folder its owner may repoint it
                raise KeystoreError(
                    f"refusing to use the keystore folder {home}: the link {candidate} on the "
                    f"way to it belongs to {_describe_owner(info.st_uid)}"
                )
            target = os.path.join(current, os.readlink(candidate))
            resolved = _check_path(home, target, depth + 1)
            if resolved is None:
                return None
            current = resolved
        elif name == "..":
            current = os.path.dirname(current)
        else:
            current = candidate
        if last:
            return current
    return current


def prepare_home(home: Path) -> None:
    """Create the keystore folder (and missing parents) 0700, then check that it is private.

    Every folder on the way to it, and every link followed, must belong to the user or root
    and be closed to other writers (or sticky): otherwise another user could move the keystore
    folder away and put one of their own in its place between these checks and the opens.

    Raises:
        KeystoreError: it is not a folder, not the current user's, or writable by others, or a
            folder or link on the way to it is not safe.
    """
    if _uid() is not None:
        try:
            _check_path(home, os.path.join(os.getcwd(), home))
        except OSError as e:
            raise KeystoreError(f"cannot use the keystore folder {home}: {e.strerror}") from None
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
