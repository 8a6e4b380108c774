"""Atomic file output: data appears under its name only when everything was written."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

_DEFERRED = {getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)}


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends (where the platform allows).

    Creating a temporary file and remembering its name must happen as one step: a signal
    handler that raises between the two would leave a file nobody removes.
    """
    block = getattr(signal, "pthread_sigmask", None)
    if block is None:
        yield
        return
    previous = block(signal.SIG_BLOCK, _DEFERRED)
    try:
        yield
    finally:
        block(signal.SIG_SETMASK, previous)


_PROC_FD = "/proc/self/fd"
_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000  # linux/fcntl.h
_LinkWay = Callable[[int, str], None]
_link_ways: dict[int, _LinkWay | None] = {}
"""Per device: how an unnamed file gets its name there (None: it cannot; use a named file)."""


def _link_through_proc(fd: int, name: str) -> None:
    # open(2), O_TMPFILE: linkat(AT_FDCWD, "/proc/self/fd/N", AT_FDCWD, name, AT_SYMLINK_FOLLOW)
    os.link(f"{_PROC_FD}/{fd}", name, follow_symlinks=True)


def _link_empty_path(fd: int, name: str) -> None:
    # open(2), O_TMPFILE: linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH), for when /proc is not
    # this process's own (a sandbox). Python's os.link has no AT_EMPTY_PATH.
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.linkat(fd, b"", _AT_FDCWD, os.fsencode(name), _AT_EMPTY_PATH) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), name)


def _temp_name(folder: Path, prefix: str) -> str:
    return str(folder / f"{prefix}{os.urandom(6).hex()}.part")


def _link_way(folder: Path) -> _LinkWay | None:
    """How unnamed files in ``folder`` get a name, found once per device by trying each way on
    an empty unnamed file (a linked one can never be unnamed again, so not on the real one)."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None:
        return None
    device = os.stat(folder).st_dev
    if device in _link_ways:
        return _link_ways[device]
    way: _LinkWay | None = None
    try:
        probe = os.open(folder, flag | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except OSError as e:
        if e.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):  # no O_TMPFILE here
            _link_ways[device] = None
        return None  # or not writable: the named file's own error will say so
    try:
        for candidate in (_link_through_proc, _link_empty_path):
            name = _temp_name(folder, ".probe.")
            try:
                candidate(probe, name)
            except (OSError, AttributeError):
                continue
            os.unlink(name)
            way = candidate
            break
    finally:
        os.close(probe)
    _link_ways[device] = way
    return way


def _name_at_target(way: _LinkWay, fd: int, target: Path) -> bool:
    """Give the finished unnamed file the target's own name when nothing has it yet: one step,
    so no kill can leave it under a temporary name. False when the target exists (replacing it
    takes a temporary name and a rename)."""
    if os.path.lexists(target):
        return False
    try:
        way(fd, str(target))
    except FileExistsError:  # created meanwhile: replace it like any existing file
        return False
    return True


def _sync_folder(folder: Path) -> None:
    """Make a new name in ``folder`` durable (fsync(2): the file's own fsync does not cover the
    directory entry). Best effort: some file systems refuse fsync on a folder."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` only if the block ends without an exception.

    The data goes to a file in the destination folder that has no name yet (Linux
    ``O_TMPFILE``; elsewhere a temporary name); on success it is synced, then named ``path``
    directly when nothing has that name yet, or named ``.NAME.*.part`` and renamed over
    ``path``; otherwise discarded, so a failure leaves neither a partial output nor a temporary
    file. Even SIGKILL, which runs no clean-up, leaves no partial file holding plaintext where
    ``O_TMPFILE`` is available: at most, a kill between naming and renaming a replacement leaves
    the complete new content under its ``.part`` name beside the old file. A new file is private
    (mode 0600, as it may hold plaintext); a replaced file keeps its mode.

    Only a regular file is ever replaced: a device (``/dev/null``), a pipe, a folder or a
    symbolic link at ``path`` is refused before anything is written, since renaming over it
    would destroy it (as root, ``-o /dev/null`` would replace the device with a file).

    Raises:
        OSError: the target is not a regular file, or the temporary file cannot be created,
            written or renamed.
    """
    target = Path(path)
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EEXIST, "exists and is not a regular file", str(target))
    folder = target.parent
    prefix = f".{target.name}."
    temp = None
    way = _link_way(folder)
    try:
        with signals_deferred():
            if way is not None:
                fd = os.open(folder, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o600)
            else:
                fd, temp = tempfile.mkstemp(prefix=prefix, suffix=".part", dir=folder)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            with contextlib.suppress(FileNotFoundError):  # replacing a file keeps its mode
                os.fchmod(handle.fileno(), target.stat().st_mode & 0o777)  # never set-id bits
            os.fsync(handle.fileno())
            if way is not None:
                if _name_at_target(way, handle.fileno(), target):
                    _sync_folder(folder)
                    return
                with signals_deferred():
                    temp = _temp_name(folder, prefix)
                    way(handle.fileno(), temp)
        assert temp is not None
        os.replace(temp, target)
        _sync_folder(folder)
    except BaseException:
        if temp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        raise
