"""Files a process is writing into a folder, named (``.NAME.XXXX.part``) or not yet named.

``envelope.files.atomic_write`` writes into an unnamed file (``O_TMPFILE``) where it can, which
no folder listing shows; the open descriptors of every process under ``/proc`` do.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path


def pending_sizes(folder: Path) -> list[int]:
    """The sizes of the files being written into ``folder`` by any process."""
    sizes = [p.stat().st_size for p in folder.iterdir() if p.name.endswith(".part")]
    prefix = f"{os.path.realpath(folder)}/#"  # how Linux shows an unnamed file's descriptor
    for fds in glob.glob("/proc/[0-9]*/fd"):
        try:
            names = os.listdir(fds)
        except OSError:
            continue
        for name in names:
            try:
                if os.readlink(f"{fds}/{name}").startswith(prefix):
                    sizes.append(os.stat(f"{fds}/{name}").st_size)
            except OSError:
                continue
    return sizes
