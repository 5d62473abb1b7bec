"""The container: atomic writes, and a zip read with every size bounded first.

`atomic_write` writes a temporary file in the target's folder, flushes and fsyncs it,
then renames it over the target: a crash at any point leaves the previous file whole
(at worst a stray `.NAME.*.tmp` beside it). `read_archive` accepts exactly the member
names it is given, refuses unsafe or duplicate names, checks the central directory,
each member's declared size and their sum before reading, and reads with a cap.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cornu.saving import limits
from cornu.saving.errors import CornuFileError

__all__ = ["Member", "atomic_write", "read_archive", "read_file", "write_archive"]

Writer = Callable[[BinaryIO], None]
# what zipfile and zlib raise on a damaged archive (ValueError includes UnicodeDecodeError)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
               NotImplementedError, RuntimeError, ValueError, struct.error, OverflowError,
               IndexError, KeyError)
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # reproducible bytes


@dataclass(frozen=True)
class Member:
    """An allowed member: its largest uncompressed size, and whether it must be there."""

    max_bytes: int
    required: bool = True


# ------------------------------------------------------------------------------ writing


def atomic_write(path: Path, write: Writer, *, overwrite: bool) -> None:
    """Write `path` through a temporary file in the same folder, then rename it."""
    folder = path.parent
    if not folder.is_dir():
        raise CornuFileError(f"Cannot save '{path}': the folder '{folder}' does not exist. "
                             "Create it first.")
    if path.is_dir():
        raise CornuFileError(f"Cannot save '{path}': it is a folder. Give a file name.")
    if path.exists() and not overwrite:
        raise CornuFileError(f"Cannot save '{path}': the file exists and overwrite=False. "
                             "Pass overwrite=True or choose another name.")
    try:
        fd, tmp = _create_temporary(path)
    except OSError as exc:
        raise CornuFileError(f"Cannot save '{path}': {exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fp:
            write(fp)
            fp.flush()
            os.fsync(fp.fileno())
        if path.exists():  # keep the permissions of the file replaced
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise CornuFileError(f"Cannot save '{path}': {exc}. The previous file, if any, "
                                 "is unchanged.") from exc
        raise
    _fsync_folder(folder)


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new file beside `path`, created with the umask's permissions (as open() would)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def write_archive(fp: BinaryIO, members: Sequence[tuple[str, bytes | Writer]]) -> None:
    """A zip of `members`: bytes are deflated, writers (tensors) are stored as they are."""
    with zipfile.ZipFile(fp, "w", allowZip64=True) as zf:
        for name, content in members:
            if isinstance(content, bytes):
                info = zipfile.ZipInfo(name, _FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, content)
            else:
                info = zipfile.ZipInfo(name, _FIXED_TIME)
                info.compress_type = zipfile.ZIP_STORED
                with zf.open(info, "w", force_zip64=True) as out:
                    content(out)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ reading


def _size(path: Path, limit: int, what: str) -> int:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CornuFileError(f"Cannot load '{path}': no such file.") from None
    except OSError as exc:
        raise CornuFileError(f"Cannot load '{path}': {exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise CornuFileError(f"Cannot load '{path}': it is not a regular file.")
    if info.st_size == 0:
        raise CornuFileError(f"Cannot load '{path}': the file is empty (0 bytes), so it is "
                             f"not {what}. Was its save interrupted?")
    if info.st_size > limit:
        raise CornuFileError(f"Cannot load '{path}': it is {info.st_size} bytes, more than "
                             f"the limit of {limit}. If the file is trusted, raise the limit "
                             "in cornu.saving.limits.")
    return info.st_size


def read_file(path: Path, limit: int, what: str) -> bytes:
    """The bytes of a plain file, its size bounded before reading."""
    size = _size(path, limit, what)
    try:
        with open(path, "rb") as fp:
            data = fp.read(size + 1)
    except OSError as exc:
        raise CornuFileError(f"Cannot load '{path}': {exc}") from exc
    if len(data) != size:
        raise CornuFileError(f"Cannot load '{path}': it changed size while being read.")
    return data


def read_archive(path: Path, members: Mapping[str, Member]) -> dict[str, bytes]:
    """The members of the zip at `path`, every one of them allowed and bounded."""
    size = _size(path, limits.MAX_ARCHIVE_BYTES, "a cornu model file")

    def bad(problem: str) -> CornuFileError:
        return CornuFileError(f"Cannot load '{path}': {problem}.")

    try:
        with open(path, "rb") as fp:
            _check_directory(fp, size, bad)
            with zipfile.ZipFile(fp) as zf:
                infos = zf.infolist()
                _check_members(infos, members, bad)
                return {info.filename: _read_member(zf, info, bad) for info in infos}
    except CornuFileError:
        raise
    except _ZIP_ERRORS as exc:
        raise bad(f"the zip container is damaged or this is not a cornu file "
                  f"({type(exc).__name__}: {exc})") from exc


def _check_directory(fp: BinaryIO, size: int, bad: Callable[[str], CornuFileError]) -> None:
    """Bound the central directory before zipfile parses it (found as zipfile finds it)."""
    tail_size = min(size, 22 + 0x10000)
    fp.seek(size - tail_size)
    tail = fp.read(tail_size)
    at = len(tail) - 22
    if not (at >= 0 and tail[at:at + 4] == b"PK\x05\x06" and tail[-2:] == b"\0\0"):
        at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise bad("it is not a complete zip archive: it is truncated, or not a cornu model "
                  "file at all (those are written by model.save())")
    entries, directory = struct.unpack_from("<HI", tail, at + 10)
    locator = size - tail_size + at - 20
    if locator >= 56:  # zip64: zipfile takes the counts from the record before the locator
        fp.seek(locator)
        if fp.read(4) == b"PK\x06\x07":
            fp.seek(locator - 56)
            record = fp.read(56)
            if record[:4] == b"PK\x06\x06":
                entries, directory = struct.unpack_from("<QQ", record, 32)
    if entries > limits.MAX_ZIP_ENTRIES or directory > limits.MAX_ZIP_DIRECTORY_BYTES:
        raise bad(f"its zip directory lists {entries} entries in {directory} bytes; a cornu "
                  f"file has at most {limits.MAX_ZIP_ENTRIES}")
    fp.seek(0)


def _unsafe(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or ":" in name or "\0" in name


def _check_members(infos: list[zipfile.ZipInfo], members: Mapping[str, Member],
                   bad: Callable[[str], CornuFileError]) -> None:
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        if _unsafe(name):
            raise bad(f"it holds a member with an unsafe name {name!r} (absolute path or "
                      "'..'); refusing it")
        if name not in members:
            raise bad(f"it holds an unexpected member {name!r}; a cornu file holds only "
                      f"{', '.join(members)}")
        if name in seen:
            raise bad(f"it holds member {name!r} twice")
        seen.add(name)
        if info.flag_bits & 0x1:
            raise bad(f"member {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise bad(f"member {name!r} uses compression method {info.compress_type}; "
                      "only stored and deflated are read")
        if info.file_size > members[name].max_bytes:
            raise bad(f"member {name!r} declares {info.file_size} bytes, more than its limit "
                      f"of {members[name].max_bytes} (see cornu.saving.limits)")
        total += info.file_size
    if total > limits.MAX_ARCHIVE_BYTES:
        raise bad(f"its members declare {total} bytes in all, more than the limit of "
                  f"{limits.MAX_ARCHIVE_BYTES} (cornu.saving.limits.MAX_ARCHIVE_BYTES)")
    missing = [name for name, rule in members.items() if rule.required and name not in seen]
    if missing:
        raise bad(f"member {missing[0]!r} is missing (the file is incomplete or not a cornu "
                  "model file)")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo,
                 bad: Callable[[str], CornuFileError]) -> bytes:
    with zf.open(info) as fp:
        data = fp.read(info.file_size + 1)  # never more than declared, plus one to notice
    if len(data) != info.file_size:
        raise bad(f"member {info.filename!r} holds {len(data)} bytes, its header says "
                  f"{info.file_size}")
    return data
