"""One crawl at a time writes a mirror tree, or workers sharing one crawl.

Two crawls of their own on one tree would each fetch every article the
other has not finished (the catalog lists only finished ones), so a crawl
holds MIRROR_DIR/.newsmirror/crawl.lock whole; workers sharing a crawl
through Redis, which split the articles between them, hold it shared. An
flock: the kernel releases it when the process ends, however it ends.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from newsmirror.mirror.layout import CRAWL_LOCK


# The file says what it is; written once, so a crawl changes no file of an
# unchanged mirror (its bytes and times stay as they were).
TEXT = b"Locked by the crawl writing this tree (newsmirror/mirror/lock.py).\n"


def try_flock(path: Path, shared: bool = False) -> int | None:
    """A descriptor of path (created) holding its flock, or None if
    another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def take_crawl_lock(mirror_dir: Path, shared: bool) -> int | None:
    """The lock's descriptor (close it to release), or None if another
    crawl holds it."""
    fd = try_flock(Path(mirror_dir, CRAWL_LOCK), shared)
    if fd is not None and not os.fstat(fd).st_size:
        os.write(fd, TEXT)
    return fd
