"""Dataset files on disk: where they live, bounded reading, verified atomic downloads.

Every data set uses this module and nothing here knows about a particular one: a data
set passes its folder name, its file names, the expected digest of each file and the
mirrors to try (`locate`, or a `Source` that bundles them). A file is looked up in

1. `$CORNU_DATA/<name>/`, when the environment variable CORNU_DATA is set;
2. the download cache (`cache_dir`);
3. `<clone>/data/<name>/` when cornu is imported from a clone of its repository;
4. otherwise it is downloaded into the cache from the first mirror that works, or, with
   no network, one short DatasetUnavailableError names the folder and the files.

Two kinds of files: *gzipped* ones (MNIST's IDX files) may sit on disk plain or with a
`.gz` suffix and are checked by the sha256 of their uncompressed content; all others are
checked by the digest of their bytes as published (sha256, or MD5 where the publisher
gives nothing else: Keras' two word-index files).

A download goes to a temporary file in the destination folder, is flushed and
fsynced, verified, and only then renamed over the final name (`os.replace`), so a
crash or a bad mirror never leaves a partial or wrong file under the real name.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
DOWNLOAD_TIMEOUT_S = 60.0


class DatasetUnavailableError(OSError):
    """A dataset file is not on disk and could not be downloaded (offline, mirrors down)."""


class ChecksumError(ValueError):
    """A dataset file's uncompressed content does not have the expected sha256."""


def data_dir(name: str) -> Path | None:
    """`$CORNU_DATA/<name>` when the environment variable CORNU_DATA is set, else None."""
    root = os.environ.get("CORNU_DATA")
    return Path(root).expanduser() / name if root else None


# The `cornu/` package folder: .../cornu/data/datasets/_cache.py -> .../cornu
PACKAGE_DIR = Path(__file__).resolve().parents[2]


def clone_data_dir(name: str, package_dir: Path | None = None) -> Path | None:
    """`<clone>/data/<name>` when cornu is imported from a clone of its repository.

    The clone is recognised from where the package is, not from the working directory:
    the folder above the `cornu/` package (`package_dir`, default the imported one)
    holds `pyproject.toml` and `data/<name>/`. A pip-installed cornu sits in
    site-packages, which has neither, so this is None there.
    """
    root = (package_dir if package_dir is not None else PACKAGE_DIR).parent
    folder = root / "data" / name
    if (root / "pyproject.toml").is_file() and folder.is_dir():
        return folder
    return None


def cache_dir(name: str) -> Path:
    """The folder that downloads of dataset `name` go to.

    With `$CORNU_CACHE_DIR` set: that folder itself for MNIST (the variable named
    MNIST's folder before there were other data sets) and `$CORNU_CACHE_DIR/<name>` for
    every other one (Fashion-MNIST's files have MNIST's names). Else
    `$XDG_CACHE_HOME/cornu/datasets/<name>`, else `~/.cache/cornu/datasets/<name>`.
    """
    override = os.environ.get("CORNU_CACHE_DIR")
    if override:
        base = Path(override).expanduser()
        return base if name == "mnist" else base / name
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "cornu" / "datasets" / name


def find_file(folder: Path, name: str) -> Path | None:
    """`folder/name` or `folder/name.gz`, whichever exists (the uncompressed one first)."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic bytes.

    At most `max_bytes` are read (after decompression), so a gzip bomb cannot exhaust
    memory; a longer file, or a broken gzip stream, raises ValueError naming the file.
    """
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        try:
            if compressed:
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    data = stream.read(max_bytes + 1)
            else:
                data = raw.read(max_bytes + 1)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(
                f"{path} is not a valid gzip file ({err}). Delete it and let cornu "
                "download it again, or replace it with a good copy."
            ) from err
    if len(data) > max_bytes:
        raise ValueError(
            f"{path} holds more than {max_bytes} bytes (uncompressed), more than this "
            "dataset file can be. Delete it and let cornu download it again."
        )
    return data


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def algorithm(expected: str) -> str:
    """The hash a hex digest was made with, from its length: sha256 (64), md5 (32)."""
    if len(expected) == 64:
        return "sha256"
    if len(expected) == 32:
        return "md5"
    raise ValueError(f"a dataset digest must be 64 (sha256) or 32 (md5) hex digits. "
                     f"Received: {expected!r}")


def digest(data: bytes, expected: str) -> str:
    """The hex digest of `data` with the algorithm `expected` was made with."""
    return hashlib.new(algorithm(expected), data).hexdigest()


def file_digest(path: Path, expected: str, max_bytes: int) -> str:
    """The hex digest of the file's bytes (read in chunks; at most `max_bytes`)."""
    hasher = hashlib.new(algorithm(expected))
    total = 0
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            total += len(chunk)
            if total > max_bytes:
                raise ValueError(
                    f"{path} is larger than {max_bytes} bytes, more than this dataset file "
                    "can be. Delete it and let cornu download it again."
                )
            hasher.update(chunk)
    return hasher.hexdigest()


_REMEDY = "delete it and let cornu download it again, or replace it with a good copy."


def _wrong_content(
    path: Path, actual: str, expected: str, what: str, where: str, remedy: str
) -> ChecksumError:
    found = f" ({where})" if where else ""
    return ChecksumError(
        f"{path} has the wrong content: the {algorithm(expected)} of its {what} is "
        f"{actual}, expected {expected}. The file {path.name} in the folder "
        f"{path.parent}{found} is corrupt or is another file; {remedy}"
    )


def check_sha256(
    path: Path, data: bytes, expected: str, *, where: str = "", remedy: str = _REMEDY,
    what: str = "uncompressed bytes",
) -> None:
    """Raise ChecksumError naming `path`, its file name and folder unless the digest of
    `data` is `expected` (sha256, or md5 for a 32-digit `expected`). `where` says how
    the folder was chosen (e.g. "$CORNU_DATA/mnist/"); `remedy` is the advice that ends
    the message; `what` names what was hashed."""
    actual = digest(data, expected)
    if actual != expected:
        raise _wrong_content(path, actual, expected, what, where, remedy)


_verified: dict[tuple[str, int, int, int], str] = {}
_verified_lock = threading.Lock()


def stat_key(path: Path) -> tuple[str, int, int, int]:
    """Identity of a file's current version: resolved path, inode, size, mtime."""
    st = path.stat()
    return (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)


def verify_once(
    path: Path, data: bytes, expected: str, *, where: str = "", remedy: str = _REMEDY,
    what: str = "uncompressed bytes",
) -> None:
    """`check_sha256`, remembered per process for a file that has not changed since
    (same resolved path, inode, size and mtime)."""
    key = stat_key(path)
    with _verified_lock:
        if _verified.get(key) == expected:
            return
    check_sha256(path, data, expected, where=where, remedy=remedy, what=what)
    with _verified_lock:
        _verified[key] = expected


def verify_file_once(
    path: Path, expected: str, max_bytes: int, *, where: str = "", remedy: str = _REMEDY
) -> None:
    """Check the digest of the file's bytes as they are on disk (streamed, so a large
    archive is not held in memory), remembered like `verify_once`."""
    key = stat_key(path)
    with _verified_lock:
        if _verified.get(key) == expected:
            return
    actual = file_digest(path, expected, max_bytes)
    if actual != expected:
        raise _wrong_content(path, actual, expected, "bytes", where, remedy)
    with _verified_lock:
        _verified[key] = expected


def _fetch(url: str, tmp, max_bytes: int) -> None:
    """Stream `url` into the open binary file `tmp`; at most `max_bytes`."""
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
        total = 0
        while chunk := response.read(_CHUNK):
            total += len(chunk)
            if total > max_bytes:
                raise ValueError(f"{url} is larger than {max_bytes} bytes")
            tmp.write(chunk)
    tmp.flush()
    os.fsync(tmp.fileno())


def download(
    file_name: str,
    mirrors: Sequence[str],
    folder: Path,
    expected_sha256: str,
    max_bytes: int,
    *,
    gzipped: bool = True,
) -> Path:
    """Download `<mirror>/<file_name>.gz` from the first mirror that works into `folder`.

    The uncompressed content must have sha256 `expected_sha256`. Returns the path
    written (`folder/<file_name>.gz`). Raises ChecksumError when a mirror answered
    but every answer had the wrong content, DatasetUnavailableError when no mirror
    could be reached. A failed try leaves no file behind. With `gzipped=False` the file
    is `<mirror>/<file_name>` and its bytes as published must have the digest
    `expected_sha256` (sha256, or md5 for a 32-digit one).
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DatasetUnavailableError(
            f"cannot create the dataset cache folder {folder} ({err}). Set "
            "CORNU_CACHE_DIR to a writable folder."
        ) from err
    target = folder / (f"{file_name}.gz" if gzipped else file_name)
    unreachable: list[str] = []
    wrong: list[str] = []
    for mirror in mirrors:
        url = urllib.parse.urljoin(mirror if mirror.endswith("/") else mirror + "/", target.name)
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"dataset mirrors must be http(s) URLs. Received: {mirror!r}")
        print(f"cornu: downloading {url} to {folder}", file=sys.stderr)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
        tmp_path = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as tmp:
                try:
                    _fetch(url, tmp, max_bytes)
                except urllib.error.HTTPError as err:
                    err.close()
                    unreachable.append(f"{url}: HTTP {err.code} {err.reason}")
                    continue
                except (OSError, ValueError) as err:
                    unreachable.append(f"{url}: {err}")
                    continue
            try:
                if gzipped:
                    actual = sha256(read_bytes(tmp_path, max_bytes))
                else:
                    actual = file_digest(tmp_path, expected_sha256, max_bytes)
            except ValueError as err:
                wrong.append(f"{url}: {err}")
                continue
            if actual != expected_sha256:
                what = "uncompressed content" if gzipped else "content"
                wrong.append(
                    f"{url}: {algorithm(expected_sha256)} of the {what} is {actual}, "
                    f"expected {expected_sha256}"
                )
                continue
            os.replace(tmp_path, target)
            with _verified_lock:
                _verified[stat_key(target)] = expected_sha256
            return target
        finally:
            tmp_path.unlink(missing_ok=True)
    if wrong:
        raise ChecksumError(
            f"downloaded {target.name} but its content is wrong, so it was not saved to "
            f"{folder}: {'; '.join(wrong + unreachable)}. The mirror serves a corrupt or "
            "different file; use another mirror, or copy good files into the folder."
        )
    raise DatasetUnavailableError(f"could not download {target.name}: {'; '.join(unreachable)}")


_REPLACE = "replace it with a good copy, or delete it and let cornu download it again."
_COUNTS = {1: "the file", 2: "the two files", 3: "the three files", 4: "the four files",
           5: "the five files", 6: "the six files"}


def lookup_folders(name: str) -> list[tuple[Path, str, str]]:
    """(folder, how it was chosen, what to do about a bad file there) for data set
    `name`, in lookup order: $CORNU_DATA/<name>/, the download cache, the clone's copy."""
    folders = []
    if (data_folder := data_dir(name)) is not None:
        folders.append((data_folder, f"$CORNU_DATA/{name}/", _REPLACE))
    folders.append((cache_dir(name), "cornu's download cache", _REPLACE))
    if (clone_folder := clone_data_dir(name)) is not None:
        folders.append((
            clone_folder,
            "the copy shipped in this clone of cornu",
            f"restore it with `git checkout -- data/{name}` in the clone, or put good "
            f"copies in $CORNU_DATA/{name}/ or the download cache, which come first.",
        ))
    return folders


def locate(
    name: str,
    title: str,
    file_name: str,
    *,
    all_files: Sequence[str],
    mirrors: Sequence[str],
    expected: str,
    max_bytes: int,
    gzipped: bool,
) -> tuple[Path, str, str]:
    """(file on disk for `file_name` of data set `name`, how its folder was chosen,
    advice for a bad file); downloads it into the cache folder when no folder holds it.

    Offline, raises one short DatasetUnavailableError (no chained traceback) that names
    the cache folder, `$CORNU_DATA/<name>/` and `all_files`, the files the data set needs.
    """
    folders = lookup_folders(name)
    for folder, where, remedy in folders:
        if gzipped:
            found = find_file(folder, file_name)
        else:
            found = folder / file_name if (folder / file_name).is_file() else None
        if found is not None:
            return found, where, remedy
    cache_folder = cache_dir(name)
    try:
        path = download(file_name, mirrors, cache_folder, expected, max_bytes, gzipped=gzipped)
    except DatasetUnavailableError as err:
        files = f"{_COUNTS.get(len(all_files), 'the files')} {', '.join(all_files)}"
        how = " (gzipped as published, or plain)" if gzipped else " (as published)"
        chosen = data_dir(name)
        where = (f"in {chosen} (CORNU_DATA is set)" if chosen is not None else
                 f"in {cache_folder}, or set CORNU_DATA to a folder that holds {name}/ "
                 "with them")
        # `from None`: one paragraph that says what to do, not a chained traceback
        raise DatasetUnavailableError(
            f"{title} is not on this machine and could not be downloaded ({err}). Put "
            f"{files}{how} {where}."
        ) from None
    return path, "cornu's download cache", _REPLACE


def mirror_variable(name: str) -> str:
    """The environment variable that replaces a data set's mirrors with one base URL:
    CORNU_<NAME>_MIRROR (CORNU_FASHION_MNIST_MIRROR for fashion-mnist)."""
    return f"CORNU_{name.upper().replace('-', '_')}_MIRROR"


class Source:
    """One data set's files: its folder name, title, files and mirrors.

    `files` maps each file name to (hex digest of its bytes as published, the most bytes
    it can have); tests patch this table to accept tiny fixture files. Files are not
    gzipped (MNIST's IDX files use `locate` directly).
    """

    def __init__(self, name: str, title: str, files: dict[str, tuple[str, int]],
                 mirrors: Sequence[str]):
        self.name = name
        self.title = title
        self.files = files
        self.mirrors = tuple(mirrors)

    def mirror_list(self) -> tuple[str, ...]:
        override = os.environ.get(mirror_variable(self.name))
        return (override,) if override else self.mirrors

    def locate(self, file_name: str) -> tuple[Path, str, str]:
        expected, max_bytes = self.files[file_name]
        return locate(self.name, self.title, file_name, all_files=[file_name],
                      mirrors=self.mirror_list(), expected=expected, max_bytes=max_bytes,
                      gzipped=False)

    def read(self, file_name: str) -> tuple[Path, bytes]:
        """(path, bytes) of a verified file, read whole (at most its max bytes)."""
        path, where, remedy = self.locate(file_name)
        expected, max_bytes = self.files[file_name]
        with open(path, "rb") as stream:
            data = stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ValueError(
                f"{path} is larger than {max_bytes} bytes, more than the {self.title} file "
                f"{file_name} can be. Delete it and let cornu download it again."
            )
        verify_once(path, data, expected, where=where, remedy=remedy, what="bytes")
        return path, data

    def verified_path(self, file_name: str) -> Path:
        """The path of a file whose bytes were checked (streamed) against its digest."""
        path, where, remedy = self.locate(file_name)
        expected, max_bytes = self.files[file_name]
        verify_file_once(path, expected, max_bytes, where=where, remedy=remedy)
        return path


class _FixedSource(Source):
    """A Source whose one file is a given path (no lookup, no download)."""

    def __init__(self, source: Source, path: Path, file_name: str):
        super().__init__(source.name, source.title, {path.name: source.files[file_name]},
                         ())
        self.path = path

    def locate(self, file_name: str) -> tuple[Path, str, str]:
        if not self.path.is_file():
            raise DatasetUnavailableError(
                f"{self.path} does not exist: pass the path of a copy of the {self.title} "
                f"file, or leave `path` at its default to use cornu's data folders.")
        return self.path, "the path passed to load_data", _REPLACE


def explicit_source(source: Source, path: Path, published: str) -> Source:
    """`source` with its file `published` taken from `path`: exactly that file when
    `path` has a folder, else a file of that name in the data set's folders. Either way
    it is checked against the digest of `published`."""
    if path.name != str(path):
        return _FixedSource(source, path.expanduser(), published)
    return Source(source.name, source.title, {path.name: source.files[published]},
                  source.mirrors)
