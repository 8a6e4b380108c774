"""Atomic file output: data appears under its name only when everything was written."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import tempfile
from collections.abc import Iterator
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


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` only if the block ends without an exception.

    The data goes to a temporary file in the destination folder; on success it is synced and
    renamed over ``path``, otherwise removed, so a failure leaves neither a partial output nor a
    temporary file. A new file is private (mode 0600, as it may hold plaintext); a replaced file
    keeps its mode.

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
    temp = None
    try:
        with signals_deferred():
            fd, temp = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".part", dir=target.parent
            )
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):  # replacing a file keeps its mode
            os.chmod(temp, target.stat().st_mode & 0o7777)
        os.replace(temp, target)
    except BaseException:
        if temp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        raise
