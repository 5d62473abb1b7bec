"""Dataset files on disk: where they live, bounded reading, verified atomic downloads.

Nothing here knows about a particular dataset; `mnist.py` passes file names, the
expected sha256 of the uncompressed content, and the mirrors to try.

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

    `$CORNU_CACHE_DIR` itself when set (it names the dataset's folder), else
    `$XDG_CACHE_HOME/cornu/datasets/<name>`, else `~/.cache/cornu/datasets/<name>`.
    """
    override = os.environ.get("CORNU_CACHE_DIR")
    if override:
        return Path(override).expanduser()
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


_REMEDY = "delete it and let cornu download it again, or replace it with a good copy."


def check_sha256(
    path: Path, data: bytes, expected: str, *, where: str = "", remedy: str = _REMEDY
) -> None:
    """Raise ChecksumError naming `path`, its file name and folder unless sha256(data) ==
    expected. `where` says how the folder was chosen (e.g. "$CORNU_DATA/mnist/");
    `remedy` is the advice that ends the message."""
    actual = sha256(data)
    if actual != expected:
        found = f" ({where})" if where else ""
        raise ChecksumError(
            f"{path} has the wrong content: the sha256 of its uncompressed bytes is "
            f"{actual}, expected {expected}. The file {path.name} in the folder "
            f"{path.parent}{found} is corrupt or is another file; {remedy}"
        )


_verified: dict[tuple[str, int, int, int], str] = {}
_verified_lock = threading.Lock()


def stat_key(path: Path) -> tuple[str, int, int, int]:
    """Identity of a file's current version: resolved path, inode, size, mtime."""
    st = path.stat()
    return (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)


def verify_once(
    path: Path, data: bytes, expected: str, *, where: str = "", remedy: str = _REMEDY
) -> None:
    """`check_sha256`, remembered per process for a file that has not changed since
    (same resolved path, inode, size and mtime)."""
    key = stat_key(path)
    with _verified_lock:
        if _verified.get(key) == expected:
            return
    check_sha256(path, data, expected, where=where, remedy=remedy)
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
) -> Path:
    """Download `<mirror>/<file_name>.gz` from the first mirror that works into `folder`.

    The uncompressed content must have sha256 `expected_sha256`. Returns the path
    written (`folder/<file_name>.gz`). Raises ChecksumError when a mirror answered
    but every answer had the wrong content, DatasetUnavailableError when no mirror
    could be reached. A failed try leaves no file behind.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DatasetUnavailableError(
            f"cannot create the dataset cache folder {folder} ({err}). Set "
            "CORNU_CACHE_DIR to a writable folder."
        ) from err
    target = folder / f"{file_name}.gz"
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
                actual = sha256(read_bytes(tmp_path, max_bytes))
            except ValueError as err:
                wrong.append(f"{url}: {err}")
                continue
            if actual != expected_sha256:
                wrong.append(
                    f"{url}: sha256 of the uncompressed content is {actual}, "
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
