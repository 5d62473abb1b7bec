"""CIFAR-10 and CIFAR-100 from their *binary* versions (no pickle anywhere).

Keras reads the python versions of the archives, whose batches are pickles; cornu reads
the binary versions the same authors publish beside them (cifar-10-binary.tar.gz,
cifar-100-binary.tar.gz: the same images in the same order). A record is the label
byte(s) then 3,072 pixel bytes: the red, green and blue 32x32 planes, rows in order.

The archive is checked against its published sha256 (streamed), then read member by
member straight out of the gzip stream: nothing is extracted, so no member path can
reach outside a folder. A member that is not a regular file or a folder, or whose path
is absolute, holds "..", or lies outside the archive's one top folder, is refused; an
unexpected member larger than 1 MiB too. Memory follows the data: a batch member is read
only when its size is a whole number of records and at most the published count.
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from cornu.data.datasets import _cache

_PIXELS = 3 * 32 * 32
_HINT = " Delete it and let cornu download it again, or replace it with a good copy."
_MAX_OTHER = 1 << 20
MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)


def read_archive(source: _cache.Source, archive: str, top: str, wanted: dict[str, int]
                 ) -> tuple[Path, dict[str, bytes]]:
    """(path, members) of the data set's archive: its sha256 checked (streamed), then the
    `wanted` members read; refused if the file changed in between."""
    path = source.verified_path(archive)
    key = _cache.stat_key(path)
    members = read_members(path, top, wanted)
    if _cache.stat_key(path) != key:
        raise ValueError(f"{path} changed while cornu read it; load the data again.")
    return path, members


def read_members(path: Path, top: str, wanted: dict[str, int]) -> dict[str, bytes]:
    """The bytes of the members `top/<name>` for each name in `wanted` (name -> the most
    bytes it may have) of the .tar.gz at `path`, read without extracting anything."""
    found: dict[str, bytes] = {}
    try:
        with open(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|gz") as archive:
            for member in archive:
                name = _member_name(member.name, top, path)
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ValueError(
                        f"{path} holds {member.name!r}, which is a link or special file: "
                        f"cornu reads only regular files from a data set archive.{_HINT}")
                if name in wanted:
                    if member.size > wanted[name]:
                        raise ValueError(
                            f"{path}: its member {member.name} is {member.size} bytes, more "
                            f"than the {wanted[name]} it can be.{_HINT}")
                    stream = archive.extractfile(member)
                    data = stream.read(member.size) if stream is not None else b""
                    if len(data) != member.size:
                        raise ValueError(f"{path} is truncated: its member {member.name} "
                                         f"stops after {len(data)} bytes.{_HINT}")
                    found[name] = data
                elif member.size > _MAX_OTHER:
                    raise ValueError(f"{path} holds an unexpected member {member.name} of "
                                     f"{member.size} bytes.{_HINT}")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise ValueError(f"{path} is not a valid .tar.gz archive ({err}); it may be "
                         f"truncated.{_HINT}") from err
    missing = [f"{top}/{name}" for name in wanted if name not in found]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}: it is not the expected "
                         f"archive.{_HINT}")
    return found


def _member_name(name: str, top: str, path: Path) -> str:
    """The member's name inside `top`; refuses a path that could leave the folder."""
    clean = name[2:] if name.startswith("./") else name
    parts = PurePosixPath(clean).parts
    if (clean.startswith("/") or "\\" in clean or ".." in parts or not parts
            or parts[0] != top):
        raise ValueError(
            f"{path} holds the member {name!r}, whose path is absolute, climbs with '..' "
            f"or is outside {top}/: cornu refuses archives whose members could be written "
            f"outside their folder.{_HINT}")
    return "/".join(parts[1:])


def parse_records(data: bytes, *, where: str, labels: int, max_records: int,
                  classes: tuple[int, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Images (n, 32, 32, 3) uint8 and `labels` label vectors of a binary batch."""
    size = labels + _PIXELS
    if len(data) == 0 or len(data) % size or len(data) // size > max_records:
        raise ValueError(
            f"{where} is {len(data)} bytes, not a whole number (1 to {max_records}) of "
            f"{size}-byte records: it is truncated or not a CIFAR binary batch.{_HINT}")
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, size)
    label_columns = [records[:, i].copy() for i in range(labels)]
    for column, count in zip(label_columns, classes, strict=True):
        if column.size and int(column.max()) >= count:
            raise ValueError(f"{where} holds the label {int(column.max())}, outside 0-"
                             f"{count - 1}: it is not a CIFAR binary batch.{_HINT}")
    images = records[:, labels:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), label_columns


def source(name: str, title: str, archive: str, digest: str, max_bytes: int) -> _cache.Source:
    return _cache.Source(name, title, {archive: (digest, max_bytes)}, MIRRORS)
