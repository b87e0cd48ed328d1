"""Paths that stay inside the mirror, and files that are never half-written."""
from __future__ import annotations

import fcntl
import hashlib
import os
import posixpath
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

# Characters no file system in common use accepts in a name, and those a
# link to the file would read as an escape, a fragment or an entity.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*%#&]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)"
                       r"(\..*)?$", re.I)
MAX_NAME_BYTES = 120
TEMP_SUFFIX = ".tmp"
# mkstemp makes its files 0600, which the rename would keep: a published
# file gets the mode open() gives, 0666 less the umask (read by a web
# server, by other users of the machine).
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK


class UnsafePath(ValueError):
    """A path that would leave the mirror directory."""


def inside(root: Path, relpath: str) -> Path:
    """root/relpath, refusing a relpath that is absolute or climbs out.

    Checked on the text alone, with no file system calls (this runs for
    every file written); the mirror never makes symlinks of its own.
    """
    normal = posixpath.normpath(relpath)
    if normal.startswith("/") or normal == ".." or normal.startswith("../"):
        raise UnsafePath(f"{relpath!r} leaves {root}")
    return Path(root, normal)


def safe_name(text: str) -> str:
    """A file name for any text that is valid on Windows, macOS and Linux."""
    name = _UNSAFE.sub("_", " ".join(text.split())).strip(" .")
    if not name or _RESERVED.match(name):
        name = f"_{name}"
    # Windows and macOS fold case and macOS Unicode forms: a name that is
    # not the only spelling of its folded form gets the text's digest, so
    # two tags never share a file.
    if len(name.encode()) > MAX_NAME_BYTES or name != text \
            or name != unicodedata.normalize("NFC", name).casefold():
        digest = hashlib.sha1(text.encode()).hexdigest()[:8]
        name = name.encode()[:MAX_NAME_BYTES].decode(errors="ignore")
        name = f"{name}-{digest}"
    return name


class AtomicFile:
    """A temp file beside `path` that replaces it on commit(), so a killed
    process leaves the old file or the new one, never a part; no fsync, as
    a lost page is simply fetched again. Locked until the rename through a
    descriptor of its own (the writer's may be closed first: a gzip feed
    writes its end on close): an unlocked temp file is a killed writer's.
    """

    def __init__(self, path: Path, suffix: str = TEMP_SUFFIX):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd, self.temp = tempfile.mkstemp(prefix=f".{self.path.name}.",
                                             suffix=suffix, dir=self.path.parent)
            # A dup shares the flock, which so outlives the writer's close.
            self._lock = os.dup(fd)
            fcntl.flock(self._lock, fcntl.LOCK_EX)
            # Another process's sweep may have taken the file in the
            # moment before the lock: then make another.
            if _names(self.temp, fd):
                break
            os.close(fd)
            os.close(self._lock)
        os.fchmod(fd, FILE_MODE)
        self.file = os.fdopen(fd, "wb")

    def commit(self) -> None:
        try:
            self.file.close()
            os.replace(self.temp, self.path)
        except BaseException:
            self.discard()
            raise
        os.close(self._lock)

    def discard(self) -> None:
        self.file.close()
        Path(self.temp).unlink(missing_ok=True)
        os.close(self._lock)


def _names(path: str, fd: int) -> bool:
    """Whether path is still the name of fd's file."""
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def write_atomic(path: Path, data: bytes | str | Iterable[str]) -> bool:
    """Write via a temp file and rename; return False if unchanged. Text
    given in pieces is written, and compared with the old file, piece by
    piece: a list page of thousands of lines is never whole in memory."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if isinstance(data, bytes):
        try:
            if path.read_bytes() == data:
                return False  # no temp file: the common case of a rerun
        except FileNotFoundError:
            pass
        return _replace(path, [data])
    pieces = (piece.encode("utf-8") for piece in data)
    try:
        old = path.open("rb")
    except FileNotFoundError:
        return _replace(path, pieces)
    with old:
        return _replace(path, pieces, old)


def _replace(path: Path, pieces: Iterable[bytes], old: BinaryIO | None = None) -> bool:
    """Write pieces over path, unless they are what old (its file) holds."""
    same = old is not None
    atomic = AtomicFile(path)
    try:
        for piece in pieces:
            same = same and old.read(len(piece)) == piece
            atomic.file.write(piece)
        if same and old.read(1) == b"":
            atomic.discard()
            return False
    except BaseException:
        atomic.discard()
        raise
    atomic.commit()
    return True


def remove_stale_temp_files(root: Path, suffix: str = TEMP_SUFFIX,
                            recursive: bool = True) -> int:
    """Delete the temp files of writers that died (SIGKILL, power loss)
    before their rename; those of live writers are locked and stay. One
    os.walk, not a glob, and not into .git: in a mirror of 100 000 pages a
    glob took a second of every crawl's start."""
    removed = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"] if recursive else []
        for name in names:
            if name.startswith(".") and name.endswith(suffix):
                removed += _remove_if_stale(Path(folder, name))
    return removed


def _remove_if_stale(tmp: Path) -> int:
    """1 if tmp was a dead writer's and is removed, else 0."""
    try:
        fd = os.open(tmp, os.O_RDONLY)
    except FileNotFoundError:
        return 0  # renamed meanwhile
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0
    else:
        tmp.unlink(missing_ok=True)
        return 1
    finally:
        os.close(fd)
