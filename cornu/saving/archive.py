"""The container: atomic writes, and a zip read with every size bounded, before and while
reading.

`atomic_write` writes a temporary file in the target's folder, flushes and fsyncs it,
then renames it over the target: a crash at any point leaves the previous file whole
(at worst a stray `.NAME.<hex>.tmp` beside it, which the next save of that target
removes). It writes through a symbolic link to the link's target and refuses read-only
files. `read_archive` accepts exactly the member names it is given, refuses unsafe or
duplicate names, checks the central directory, each member's declared size, compression
ratio and extent, and their sum before reading; then it streams each member, stopping at
its declared size and at the compression ratio, whatever the data hold, and lets a
member's `head` judge its first bytes before the rest is read. `read_file` does the same
for a plain file."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cornu import devices
from cornu.saving import limits
from cornu.saving.errors import CornuFileError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["Member", "atomic_write", "member_names", "read_archive", "read_file",
           "lock_folder", "remove_stale_folders", "remove_stale_temporaries", "write_archive"]

Writer = Callable[[BinaryIO], None]
#: head(first bytes, total size, where) -> how many first bytes it needs, 0 once it has
#: judged them (it raises CornuFileError to refuse): weights.check_head
Head = Callable[[bytes | bytearray, int, str], int]
# what zipfile and zlib raise on a damaged archive (ValueError includes UnicodeDecodeError)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
               NotImplementedError, RuntimeError, ValueError, struct.error, OverflowError,
               IndexError, KeyError)
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # reproducible bytes
#: a temporary file younger than this is never stale (see remove_stale_temporaries)
STALE_AFTER_SECONDS = 10.0
_STALE_WITHOUT_LOCKS_SECONDS = 24 * 3600.0  # where there is no flock


@dataclass(frozen=True)
class Member:
    """An allowed member: its largest uncompressed size, whether it must be there, and
    what judges its first bytes before the rest is read (`head`, e.g. weights.check_head
    for a safetensors member)."""

    max_bytes: int
    required: bool = True
    head: Head | None = None
    #: False: checked (name, declared sizes, extent) but not read, nor returned
    read: bool = True
    #: what `max_bytes` is, when not a limit of cornu.saving.limits (for the refusal)
    bound: str | None = None


# ------------------------------------------------------------------------------ writing


def atomic_write(path: Path, write: Writer, *, overwrite: bool) -> None:
    """Write `path` through a temporary file in the same folder, then rename it.

    A symbolic link is followed: its final target is written (atomically, the temporary
    file beside it) and the link stays a link; a link to nothing is refused, as is a file
    that is read-only. Stale temporary files of the same target, left by a save that was
    killed, are removed first (see `remove_stale_temporaries`).

    In a job of several processes only process 0 writes (cornu.devices.writes_files);
    the others return at once (docs/distributed.md)."""
    if not devices.writes_files():
        return
    target = _target(path)
    folder = target.parent
    if not folder.is_dir():
        raise CornuFileError(f"Cannot save '{path}': the folder '{folder}' does not exist. "
                             "Create it first.")
    if target.is_dir():
        raise CornuFileError(f"Cannot save '{path}': it is a folder. Give a file name.")
    if target.exists() and not overwrite:
        raise CornuFileError(f"Cannot save '{path}': the file exists and overwrite=False. "
                             "Pass overwrite=True or choose another name.")
    if target.exists() and _read_only(target):
        raise CornuFileError(f"Cannot save '{path}': the file{_via(path, target)} is "
                             "read-only, so cornu does not replace it. Make it writable "
                             "(chmod u+w) or choose another name.")
    remove_stale_temporaries(target)
    try:
        fd, tmp = _create_temporary(target)
    except OSError as exc:
        raise CornuFileError(f"Cannot save '{path}': {exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fp:
            write(fp)
            fp.flush()
            os.fsync(fp.fileno())
            if fcntl is not None:  # renamed while still open and locked: never seen stale
                _rename(tmp, target)
        if fcntl is None:  # pragma: no cover - Windows renames only closed files
            _rename(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise CornuFileError(f"Cannot save '{path}': {exc}. The previous file, if any, "
                                 "is unchanged.") from exc
        raise
    _fsync_folder(folder)


def _rename(tmp: Path, target: Path) -> None:
    if target.exists():  # keep the permissions of the file replaced
        os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
    os.replace(tmp, target)


def _target(path: Path) -> Path:
    """The file a save of `path` writes: `path`, or the file its symbolic link(s) lead to."""
    if not path.is_symlink():
        return path
    target = Path(os.path.realpath(path))
    if not target.exists():
        raise CornuFileError(f"Cannot save '{path}': it is a symbolic link to '{target}', "
                             "which does not exist (or the links loop). cornu writes through "
                             "a link only to an existing file: create the file or remove "
                             "the link.")
    return target


def _via(path: Path, target: Path) -> str:
    return "" if target == path else f" '{target}' (the target of the link)"


def _read_only(path: Path) -> bool:
    """No write permission bit set (as `chmod a-w` leaves it; checked for root too, whom
    os.access always allows), or no write access for this process."""
    mode = path.stat().st_mode
    return not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) \
        or not os.access(path, os.W_OK)


def _temporary_name(target: Path) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(target.name)}\.[0-9a-f]{{12}}\.tmp")


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new file beside `path`, created with the umask's permissions (as open() would),
    and locked (flock) for as long as it is open, which marks it as in use."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        if fcntl is not None:
            with contextlib.suppress(OSError):  # no locks here: then none is ever stale
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd, tmp


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove the temporary files that saves of `target` left behind when they were killed;
    the paths removed.

    Only files named as `atomic_write` names those of this very target
    (`.NAME.<12 hex digits>.tmp`, beside it) are considered, and one is removed only when
    it is stale: a regular file (not a link), last modified more than
    `STALE_AFTER_SECONDS` ago, and not locked. Every writer holds an exclusive flock on
    its temporary file from just after creating it until it has renamed it; the system
    drops the lock when the writer exits or is killed, so a lock that can be taken means
    no writer is left. The age covers the instant between creation and locking. Where
    flock does not exist (Windows), only files older than a day are removed, and Windows
    itself refuses to delete a file a writer still has open. Errors are ignored: cleaning
    up never stops a save."""
    pattern = _temporary_name(target)
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    removed = []
    for name in sorted(names):
        if pattern.fullmatch(name):
            candidate = target.parent / name
            with contextlib.suppress(OSError):
                if _remove_if_stale(candidate):
                    removed.append(candidate)
    return removed


def _remove_if_stale(candidate: Path) -> bool:
    if fcntl is None:  # pragma: no cover - Windows
        info = os.lstat(candidate)
        if stat.S_ISREG(info.st_mode) and \
                time.time() - info.st_mtime > _STALE_WITHOUT_LOCKS_SECONDS:
            os.unlink(candidate)
            return True
        return False
    fd = os.open(candidate, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or time.time() - info.st_mtime < STALE_AFTER_SECONDS:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a writer holds it
        current = os.lstat(candidate)  # still the same file under that name?
        if (current.st_dev, current.st_ino) != (info.st_dev, info.st_ino):
            return False
        os.unlink(candidate)
        return True
    finally:
        os.close(fd)


def lock_folder(folder: Path) -> int | None:
    """An open descriptor of `folder` holding an exclusive flock on it (None where there
    is no flock): a writer holds it while it fills a temporary folder, so
    remove_stale_folders never takes a live writer's folder. Close it when done."""
    if fcntl is None:  # pragma: no cover - Windows
        return None
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def remove_stale_folders(target: Path) -> list[Path]:
    """Remove the temporary folders that writes of the folder `target` (a SavedModel
    export) left when they were killed: `.NAME.<12 hex digits>.tmp` (being filled) and
    `.NAME.<12 hex digits>.old` (an earlier export being replaced), beside it; the paths
    removed. As for files (remove_stale_temporaries): only real folders (not links), not
    changed for STALE_AFTER_SECONDS, and not locked by a live writer (lock_folder)."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.[0-9a-f]{{12}}\.(tmp|old)")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    removed = []
    for name in sorted(names):
        if not pattern.fullmatch(name):
            continue
        candidate = target.parent / name
        with contextlib.suppress(OSError):
            if fcntl is None:  # pragma: no cover - Windows: only a day-old folder
                info = os.lstat(candidate)
                if stat.S_ISDIR(info.st_mode) and \
                        time.time() - info.st_mtime > _STALE_WITHOUT_LOCKS_SECONDS:
                    _remove_tree(candidate)
                    removed.append(candidate)
                continue
            fd = os.open(candidate, os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY)
            try:
                info = os.fstat(fd)
                if time.time() - info.st_mtime < STALE_AFTER_SECONDS:
                    continue
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a writer holds it
                current = os.lstat(candidate)
                if (current.st_dev, current.st_ino) == (info.st_dev, info.st_ino):
                    _remove_tree(candidate)
                    removed.append(candidate)
            finally:
                os.close(fd)
    return removed


def _remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


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

_CHUNK = 1 << 20  # bytes read, or inflated, at a time
_STORED, _DEFLATED = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
_LOCAL_HEADER = 30  # bytes before a member's name in its local header


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


def _take(read: Callable[[int], bytes], size: int, head: Head | None, where: str
          ) -> bytearray:
    """Exactly `size` bytes from `read`, a chunk at a time: never more (whatever the source
    holds), and with `head`, the first bytes are judged before the rest is read."""
    out = bytearray()
    need = head(out, size, where) if head is not None else 0
    while len(out) < size:
        want = need - len(out) if need > len(out) else min(_CHUNK, size - len(out))
        piece = read(min(want, size - len(out)))
        if not piece:
            break
        out += piece
        if need and len(out) >= need:
            need = head(out, size, where)  # type: ignore[misc]
    return out


def read_file(path: Path, limit: int, what: str, head: Head | None = None) -> bytearray:
    """The bytes of a plain file, its size bounded before reading; `head` (e.g.
    weights.check_head) judges its first bytes before the rest is read."""
    size = _size(path, limit, what)
    try:
        with open(path, "rb") as fp:
            data = _take(fp.read, size, head, f"'{path}'")
            grew = fp.read(1)
    except OSError as exc:
        raise CornuFileError(f"Cannot load '{path}': {exc}") from exc
    if len(data) != size or grew:
        raise CornuFileError(f"Cannot load '{path}': it changed size while being read.")
    return data


def check_file(path: Path, limit: int, what: str, head: Head) -> Path:
    """`path`, once its size is within `limit` and `head` has judged its first bytes: for
    a format whose reader reads only what it needs (HDF5), so the body is not read here."""
    size = _size(path, limit, what)
    try:
        with open(path, "rb") as fp:
            _take(fp.read, min(size, 64), head, f"'{path}'")
    except OSError as exc:
        raise CornuFileError(f"Cannot load '{path}': {exc}") from exc
    return path


def read_archive(path: Path, members: Mapping[str, Member]) -> dict[str, bytearray]:
    """The members of the zip at `path`, every one of them allowed and bounded."""
    size = _size(path, limits.MAX_ARCHIVE_BYTES, "a cornu model file")

    def bad(problem: str) -> CornuFileError:
        return CornuFileError(f"Cannot load '{path}': {problem}.")

    try:
        with open(path, "rb") as fp:
            _check_directory(fp, size, bad)
            with zipfile.ZipFile(fp) as zf:
                infos = zf.infolist()
                directory_at = getattr(zf, "start_dir", size)
            _check_members(infos, members, bad)
            starts = _locate(fp, infos, directory_at, bad)
            return {info.filename: _read_member(fp, info, start, members[info.filename],
                                                f"'{path}' ({info.filename})", bad)
                    for info, start in zip(infos, starts, strict=True)
                    if members[info.filename].read}
    except CornuFileError:
        raise
    except _ZIP_ERRORS as exc:
        raise bad(f"the zip container is damaged or this is not a cornu file "
                  f"({type(exc).__name__}: {exc})") from exc


def member_names(path: Path) -> list[str]:
    """The member names of the zip at `path` (its size and directory bounded first);
    [] when it is not a zip."""
    size = _size(path, limits.MAX_ARCHIVE_BYTES, "a model file")

    def bad(problem: str) -> CornuFileError:
        return CornuFileError(f"Cannot load '{path}': {problem}.")

    try:
        with open(path, "rb") as fp:
            if fp.read(4) != b"PK\x03\x04":
                return []
            _check_directory(fp, size, bad)
            with zipfile.ZipFile(fp) as zf:
                return zf.namelist()
    except CornuFileError:
        raise
    except _ZIP_ERRORS as exc:
        raise bad(f"the zip container is damaged ({type(exc).__name__}: {exc})") from exc


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
                      f"of {members[name].max_bytes} "
                      f"({members[name].bound or 'see cornu.saving.limits'})")
        if info.compress_type == _STORED and info.compress_size != info.file_size:
            raise bad(f"member {name!r} is stored, yet declares {info.compress_size} bytes "
                      f"in the file and {info.file_size} once read")
        if info.compress_type == _DEFLATED and info.file_size > _inflatable(info.compress_size):
            raise bad(f"member {name!r} declares {info.file_size} bytes from "
                      f"{info.compress_size} compressed ones, more than "
                      f"{limits.MAX_COMPRESSION_RATIO} times as many (a zip bomb?); see "
                      "cornu.saving.limits.MAX_COMPRESSION_RATIO")
        total += info.file_size
    if total > limits.MAX_ARCHIVE_BYTES:
        raise bad(f"its members declare {total} bytes in all, more than the limit of "
                  f"{limits.MAX_ARCHIVE_BYTES} (cornu.saving.limits.MAX_ARCHIVE_BYTES)")
    missing = [name for name, rule in members.items() if rule.required and name not in seen]
    if missing:
        raise bad(f"member {missing[0]!r} is missing (the file is incomplete or not a cornu "
                  "model file)")


def _inflatable(compressed: int) -> int:
    """The most bytes that `compressed` deflated bytes may expand to."""
    return max(limits.RATIO_FREE_BYTES, limits.MAX_COMPRESSION_RATIO * compressed)


def _locate(fp: BinaryIO, infos: list[zipfile.ZipInfo], directory_at: int,
            bad: Callable[[str], CornuFileError]) -> list[int]:
    """Where each member's data start, from its local header (whose name must be the
    directory's); the members' extents must not overlap one another or the directory."""
    starts, extents = [], []
    for info in infos:
        fp.seek(info.header_offset)
        local = fp.read(_LOCAL_HEADER)
        if len(local) != _LOCAL_HEADER or local[:4] != b"PK\x03\x04":
            raise bad(f"member {info.filename!r} has no local header where the zip directory "
                      "says (the file is damaged)")
        name_length, extra_length = struct.unpack_from("<HH", local, 26)
        raw = fp.read(name_length)
        name = raw.decode("utf-8" if info.flag_bits & 0x800 else "cp437")
        if name != info.orig_filename:
            raise bad(f"member {info.filename!r} is named {name!r} in its local header")
        start = info.header_offset + _LOCAL_HEADER + name_length + extra_length
        starts.append(start)
        extents.append((info.header_offset, start + info.compress_size, info.filename))
    extents.sort()
    ends = [*(begin for begin, _, _ in extents[1:]), directory_at]
    for (_, end, name), limit in zip(extents, ends, strict=True):
        if end > limit:
            raise bad(f"member {name!r} declares more compressed bytes than the file holds "
                      "before the next member or the zip directory (overlapping members "
                      "are refused)")
    return starts


class _Inflate:
    """read(n): the inflated bytes of one deflated member, never more than
    `MAX_COMPRESSION_RATIO` times the compressed bytes consumed so far (past
    RATIO_FREE_BYTES), whatever the zip directory declares."""

    def __init__(self, fp: BinaryIO, compressed: int, name: str,
                 bad: Callable[[str], CornuFileError]) -> None:
        self._fp, self._left, self._name, self._bad = fp, compressed, name, bad
        self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        self._pending = b""
        self._consumed = self._produced = 0

    def read(self, n: int) -> bytes:
        while not self._inflater.eof:
            if not self._pending:
                if self._left <= 0:
                    raise self._bad(f"member {self._name!r}: its compressed data end early")
                self._pending = self._fp.read(min(_CHUNK, self._left))
                if not self._pending:
                    raise self._bad(f"member {self._name!r} is truncated")
                self._left -= len(self._pending)
            fed = len(self._pending)
            out = self._inflater.decompress(self._pending, max(n, 1))
            self._pending = self._inflater.unconsumed_tail
            self._consumed += fed - len(self._pending) - len(self._inflater.unused_data)
            self._produced += len(out)
            if self._produced > _inflatable(self._consumed):
                raise self._bad(
                    f"member {self._name!r} inflates {self._consumed} compressed bytes to "
                    f"{self._produced} bytes, more than {limits.MAX_COMPRESSION_RATIO} times "
                    "as many (a zip bomb?); see cornu.saving.limits.MAX_COMPRESSION_RATIO")
            if out:
                return out
        return b""


def _read_member(fp: BinaryIO, info: zipfile.ZipInfo, start: int, rule: Member, where: str,
                 bad: Callable[[str], CornuFileError]) -> bytearray:
    """A member's bytes, streamed: never more than it declares (which is within its
    limits and ratio), its head judged first, its CRC checked."""
    fp.seek(start)
    name = info.filename
    if info.compress_type == _STORED:
        left = info.compress_size

        def read(n: int) -> bytes:
            nonlocal left
            piece = fp.read(min(n, left))
            left -= len(piece)
            return piece
    else:
        read = _Inflate(fp, info.compress_size, name, bad).read
    data = _take(read, info.file_size, rule.head, where)
    if len(data) != info.file_size:
        raise bad(f"member {name!r} holds {len(data)} bytes, its header says {info.file_size}")
    if read(1):
        raise bad(f"member {name!r} holds more than the {info.file_size} bytes its header "
                  "says")
    if zlib.crc32(data) != info.CRC:
        raise bad(f"member {name!r} fails its CRC check (the file is damaged)")
    return data
