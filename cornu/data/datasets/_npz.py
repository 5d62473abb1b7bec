"""Keras' .npz data files, read without pickle.

An .npz file is a zip archive of .npy members. Numeric members (labels, the housing
tables) are read from their header and raw bytes. IMDB's and Reuters' sequences are
*object* arrays, which numpy stores as a pickle of the array; `unpickle_int_lists` reads
that pickle with its own small interpreter that knows the one layout numpy writes (the
array rebuilt by `numpy.core.multiarray._reconstruct` / `numpy._core.multiarray` from
`numpy.ndarray` and a `numpy.dtype`, holding a list of lists of integers) and refuses
every other opcode and every other global. The names it reads are compared as text;
nothing named in a file is imported or called, and `pickle.load` is never used.

Memory follows the data: a member is read whole only up to the data set's size bound,
and arrays are made from the bytes actually present, never from a size a header claims.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

_NPY_MAGIC = b"\x93NUMPY"
_NUMERIC_DESCR = re.compile(r"[<>|=]?[iuf][1248]")
_HINT = " Delete it and let cornu download it again, or replace it with a good copy."


def read_npz(data: bytes, *, path: Path, members: dict[str, str], max_bytes: int
             ) -> dict[str, np.ndarray]:
    """The members of an .npz file's bytes, by name without ".npy".

    `members` maps each name to its kind: "numeric" (a plain number array) or
    "int_lists" (an object array of lists of integers, returned as a 1-D object array of
    Python lists). Other members are not read. Raises ValueError naming `path` (and the
    member) when the file is not such an archive.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise ValueError(f"{path} is not a valid .npz (zip) file ({err}); it may be "
                         f"truncated.{_HINT}") from err
    out = {}
    with archive:
        names = set(archive.namelist())
        for key, kind in members.items():
            member = f"{key}.npy"
            if member not in names:
                raise ValueError(f"{path} has no member {member}: it is not the expected "
                                 f".npz file.{_HINT}")
            try:
                with archive.open(member) as raw:
                    blob = raw.read(max_bytes + 1)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError) as err:
                raise ValueError(f"{path}: its member {member} cannot be read ({err}); the "
                                 f"file is truncated or corrupt.{_HINT}") from err
            if len(blob) > max_bytes:
                raise ValueError(f"{path}: its member {member} holds more than {max_bytes} "
                                 f"bytes, more than this data set can be.{_HINT}")
            out[key] = parse_npy(blob, where=f"{path} (member {member})", kind=kind)
    return out


def _npy_header(blob: bytes, where: str) -> tuple[str, bool, tuple[int, ...], bytes]:
    if not blob.startswith(_NPY_MAGIC) or len(blob) < 10:
        raise ValueError(f"{where} is not a .npy array (no NUMPY magic).{_HINT}")
    major = blob[6]
    if major == 1:
        size, start = int.from_bytes(blob[8:10], "little"), 10
    elif major in (2, 3):
        size, start = int.from_bytes(blob[8:12], "little"), 12
    else:
        raise ValueError(f"{where} has .npy format version {major}, which cornu does not "
                         f"read (1, 2 or 3).{_HINT}")
    if size > 65536 or len(blob) < start + size:
        raise ValueError(f"{where} has a truncated or oversized .npy header.{_HINT}")
    text = blob[start:start + size].decode("latin1")
    descr = re.search(r"'descr'\s*:\s*'([^']*)'", text)
    order = re.search(r"'fortran_order'\s*:\s*(True|False)", text)
    shape = re.search(r"'shape'\s*:\s*\(([0-9L, ]*)\)", text)
    rest = text
    for match in (descr, order, shape):
        if match is None:
            raise ValueError(f"{where} has a .npy header cornu cannot read: {text.strip()!r}."
                             f"{_HINT}")
        rest = rest.replace(match.group(0), "", 1)
    if rest.strip(" \n{},") != "":
        raise ValueError(f"{where} has unexpected entries in its .npy header: "
                         f"{text.strip()!r}.{_HINT}")
    dims = tuple(int(d.strip().rstrip("L")) for d in shape.group(1).split(",") if d.strip())
    return descr.group(1), order.group(1) == "True", dims, blob[start + size:]


def parse_npy(blob: bytes, *, where: str, kind: str) -> np.ndarray:
    """One .npy member: a numeric array, or ("int_lists") an object array of int lists."""
    descr, fortran, shape, body = _npy_header(blob, where)
    count = 1
    for d in shape:
        count *= d
    if kind == "numeric":
        if not _NUMERIC_DESCR.fullmatch(descr):
            raise ValueError(f"{where} has dtype {descr!r}; cornu reads only plain integer "
                             f"and float arrays here.{_HINT}")
        dtype = np.dtype(descr)
        if len(body) != count * dtype.itemsize:
            state = "truncated" if len(body) < count * dtype.itemsize else "too long"
            raise ValueError(f"{where} is {state}: {len(body)} bytes of data for an array "
                             f"of shape {shape} and dtype {descr}.{_HINT}")
        array = np.frombuffer(body, dtype=dtype).reshape(shape, order="F" if fortran else "C")
        return array.astype(dtype.newbyteorder("="), copy=True)
    if descr != "|O":
        raise ValueError(f"{where} has dtype {descr!r}, expected an object array ('|O') of "
                         f"sequences.{_HINT}")
    if len(shape) != 1:
        raise ValueError(f"{where} has shape {shape}, expected a 1-D array of "
                         f"sequences.{_HINT}")
    items = unpickle_int_lists(body, where=where)
    if len(items) != count:
        raise ValueError(f"{where} holds {len(items)} sequences but its header says "
                         f"{count}.{_HINT}")
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


# --- the restricted pickle reader --------------------------------------------------------

_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "_reconstruct")}
_NDARRAY = ("numpy", "ndarray")
_DTYPE = ("numpy", "dtype")
_ENCODE = ("_codecs", "encode")  # Python 3's protocol 2 writes bytes as encode(str, "latin1")
_INT_DESCR = re.compile(r"[iu][1248]")


class _Name:
    """A global named in the pickle: only its text, never the object it names."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name


class _Dtype:
    def __init__(self, descr: str):
        self.descr, self.byteorder, self.built = descr, "|", False


class _Array:
    def __init__(self):
        self.built = False
        self.shape: tuple = ()
        self.items: list | None = None
        self.numeric = False


class _Mark:
    pass


_MARK = _Mark()


def _text(value, what: str, fail) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("ascii")
        except UnicodeDecodeError:
            fail(f"{what} is not ASCII text")
    if isinstance(value, str):
        return value
    fail(f"{what} is not text")
    return ""


def unpickle_int_lists(data: bytes, *, where: str) -> list[list[int]]:
    """The lists of integers held by numpy's pickle of a 1-D object array.

    Reads protocols 2 to 5 (Python 2's numpy wrote protocol 2) and only the opcodes that
    numpy's layout uses; anything else is refused with a ValueError naming `where`, the
    opcode and its offset.
    """
    pos = 0
    end = len(data)
    stack: list = []
    marks: list[int] = []
    memo: dict[int, object] = {}

    def fail(reason: str):
        raise ValueError(f"{where}: refused at byte {pos} of its pickle: {reason}. cornu "
                         "reads only numpy's layout of an object array of integer lists; "
                         f"the file is corrupt or was made to run code.{_HINT}")

    def need(n: int) -> int:
        if pos + n > end:
            fail("the pickle is truncated")
        return pos + n

    def pop_mark() -> list:
        if not marks:
            fail("an opcode needs a MARK that is not there")
        start = marks.pop()
        items = stack[start:]
        del stack[start:]
        return items

    def pop():
        if len(stack) <= (marks[-1] if marks else 0):
            fail("the pickle's stack is empty where a value is needed")
        return stack.pop()

    while True:
        if pos >= end:
            fail("the pickle ends without STOP")
        op = data[pos]
        pos += 1
        # integers first: they are nearly every opcode of these files
        if op == 0x4B:  # BININT1
            stack.append(data[need(1) - 1])
            pos += 1
        elif op == 0x4D:  # BININT2
            nxt = need(2)
            stack.append(data[pos] | data[pos + 1] << 8)
            pos = nxt
        elif op == 0x4A:  # BININT
            nxt = need(4)
            stack.append(int.from_bytes(data[pos:nxt], "little", signed=True))
            pos = nxt
        elif op == 0x8A:  # LONG1
            n = data[need(1) - 1]
            pos += 1
            if n > 8:
                fail(f"an integer of {n} bytes is out of range")
            nxt = need(n)
            stack.append(int.from_bytes(data[pos:nxt], "little", signed=True))
            pos = nxt
        elif op == 0x28:  # MARK
            marks.append(len(stack))
            # the bulk of these files: a run of integers after the MARK of a list's APPENDS,
            # read in one tight loop (the general loop reads the last few bytes)
            append = stack.append
            limit = end - 5
            while pos < limit:
                op = data[pos]
                if op == 0x4B:
                    append(data[pos + 1])
                    pos += 2
                elif op == 0x4D:
                    append(data[pos + 1] | data[pos + 2] << 8)
                    pos += 3
                elif op == 0x4A:
                    append(int.from_bytes(data[pos + 1:pos + 5], "little", signed=True))
                    pos += 5
                else:
                    break
        elif op == 0x65:  # APPENDS
            items = pop_mark()
            target = pop()
            if not isinstance(target, list):
                fail("APPENDS to something that is not a list")
            target.extend(items)
            stack.append(target)
        elif op == 0x61:  # APPEND
            item = pop()
            target = pop()
            if not isinstance(target, list):
                fail("APPEND to something that is not a list")
            target.append(item)
            stack.append(target)
        elif op == 0x5D:  # EMPTY_LIST
            stack.append([])
        elif op == 0x71:  # BINPUT
            memo[data[need(1) - 1]] = stack[-1] if stack else fail("BINPUT on an empty stack")
            pos += 1
        elif op == 0x72:  # LONG_BINPUT
            nxt = need(4)
            memo[int.from_bytes(data[pos:nxt], "little")] = (
                stack[-1] if stack else fail("LONG_BINPUT on an empty stack"))
            pos = nxt
        elif op == 0x94:  # MEMOIZE
            memo[len(memo)] = stack[-1] if stack else fail("MEMOIZE on an empty stack")
        elif op in (0x68, 0x6A):  # BINGET, LONG_BINGET
            width = 1 if op == 0x68 else 4
            nxt = need(width)
            key = int.from_bytes(data[pos:nxt], "little")
            pos = nxt
            if key not in memo:
                fail(f"memo entry {key} is read before it is written")
            stack.append(memo[key])
        elif op == 0x80:  # PROTO
            proto = data[need(1) - 1]
            pos += 1
            if proto < 2 or proto > 5:
                fail(f"pickle protocol {proto} is not one numpy writes")
        elif op == 0x95:  # FRAME: a length hint only
            pos = need(8)
        elif op in (0x8C, 0x58, 0x8D, 0x55, 0x54, 0x43, 0x42, 0x8E):
            # SHORT_BINUNICODE, BINUNICODE, BINUNICODE8: str; SHORT_BINSTRING, BINSTRING
            # (Python 2 str), SHORT_BINBYTES, BINBYTES, BINBYTES8: bytes
            width = {0x8C: 1, 0x58: 4, 0x8D: 8, 0x55: 1, 0x54: 4, 0x43: 1, 0x42: 4,
                     0x8E: 8}[op]
            nxt = need(width)
            n = int.from_bytes(data[pos:nxt], "little")
            pos = nxt
            nxt = need(n)
            raw = data[pos:nxt]
            pos = nxt
            if op in (0x8C, 0x58, 0x8D):
                try:
                    stack.append(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    fail("a text string is not UTF-8")
            else:
                stack.append(raw)
        elif op == 0x63:  # GLOBAL: "module\nname\n"
            first = data.find(b"\n", pos)
            second = data.find(b"\n", first + 1) if first >= 0 else -1
            if first < 0 or second < 0 or second - pos > 200:
                fail("a GLOBAL opcode is malformed")
            module = data[pos:first].decode("latin1")
            name = data[first + 1:second].decode("latin1")
            pos = second + 1
            stack.append(_global(module, name, fail))
        elif op == 0x93:  # STACK_GLOBAL
            name = _text(pop(), "a global's name", fail)
            module = _text(pop(), "a global's module", fail)
            stack.append(_global(module, name, fail))
        elif op == 0x29:  # EMPTY_TUPLE
            stack.append(())
        elif op == 0x74:  # TUPLE
            stack.append(tuple(pop_mark()))
        elif op in (0x85, 0x86, 0x87):  # TUPLE1..3
            n = op - 0x84
            if len(stack) - (marks[-1] if marks else 0) < n:
                fail("a TUPLE opcode lacks its items")
            items = tuple(stack[-n:])
            del stack[-n:]
            stack.append(items)
        elif op == 0x4E:  # NONE
            stack.append(None)
        elif op == 0x88:  # NEWTRUE
            stack.append(True)
        elif op == 0x89:  # NEWFALSE
            stack.append(False)
        elif op == 0x52:  # REDUCE
            args = pop()
            func = pop()
            stack.append(_reduce(func, args, fail))
        elif op == 0x62:  # BUILD
            state = pop()
            obj = pop()
            _build(obj, state, fail)
            stack.append(obj)
        elif op == 0x2E:  # STOP
            break
        else:
            fail(f"opcode {bytes([op])!r} is not allowed")
    if pos != end:
        fail(f"{end - pos} bytes follow the pickle's STOP")
    if len(stack) != 1 or marks:
        fail("the pickle does not leave exactly one value")
    result = stack[0]
    if not isinstance(result, _Array) or not result.built:
        fail("the pickle does not hold a numpy array")
    return result.items


def _global(module: str, name: str, fail):
    key = (module, name)
    if key in _RECONSTRUCT or key in (_NDARRAY, _DTYPE, _ENCODE):
        return _Name(module, name)
    fail(f"it names the global {module}.{name}, which is never loaded")


def _reduce(func, args, fail):
    if not isinstance(func, _Name) or not isinstance(args, tuple):
        fail("REDUCE of something other than numpy's array layout")
    key = (func.module, func.name)
    if key in _RECONSTRUCT:
        if (len(args) != 3 or not isinstance(args[0], _Name)
                or (args[0].module, args[0].name) != _NDARRAY):
            fail("_reconstruct is called with unexpected arguments")
        return _Array()
    if key == _ENCODE:  # done here, on text: nothing is imported or called
        if (len(args) != 2 or not isinstance(args[0], str)
                or args[1] not in ("latin1", "latin-1")):
            fail("_codecs.encode is called with unexpected arguments")
        try:
            return args[0].encode("latin1")
        except UnicodeEncodeError:
            fail("_codecs.encode is given text that is not latin-1")
    if key == _DTYPE:
        if len(args) != 3 or not all(isinstance(a, (bool, int)) for a in args[1:]):
            fail("dtype is called with unexpected arguments")
        descr = _text(args[0], "a dtype", fail)
        if descr not in ("O8", "O4") and not _INT_DESCR.fullmatch(descr):
            fail(f"dtype {descr!r} is neither object nor integer")
        return _Dtype(descr)
    fail(f"{func.module}.{func.name} is not called in numpy's array layout")


def _build(obj, state, fail):
    if isinstance(obj, _Dtype) and not obj.built:
        if not isinstance(state, tuple) or len(state) not in (8, 9) or state[2:5] != (
                None, None, None):
            fail("a dtype's state is not a plain dtype's")
        obj.byteorder = _text(state[1], "a dtype's byte order", fail)
        if obj.byteorder not in "<>|=":
            fail(f"byte order {obj.byteorder!r} is unknown")
        obj.built = True
        return
    if isinstance(obj, _Array) and not obj.built:
        if (not isinstance(state, tuple) or len(state) != 5 or not isinstance(state[1], tuple)
                or not isinstance(state[2], _Dtype) or not state[2].built):
            fail("an array's state is not numpy's (version, shape, dtype, order, data)")
        shape, dtype, payload = state[1], state[2], state[4]
        if len(shape) != 1 or not isinstance(shape[0], int) or shape[0] < 0:
            fail(f"an array has shape {shape!r}, expected one dimension")
        if dtype.descr.startswith("O"):
            if not isinstance(payload, list) or len(payload) != shape[0]:
                fail("an object array's items do not match its shape")
            items = []
            for item in payload:
                if isinstance(item, _Array) and item.built and item.numeric:
                    item = item.items
                if not isinstance(item, list) or not all(type(w) is int for w in item):
                    fail("an item of the array is not a list of integers")
                items.append(item)
        else:  # a nested integer array: its raw bytes
            if not isinstance(payload, bytes):
                fail("an integer array's data is not bytes")
            order = "<" if dtype.byteorder in "|=" else dtype.byteorder
            np_dtype = np.dtype(order + dtype.descr)
            if len(payload) != shape[0] * np_dtype.itemsize:
                fail("an integer array's data does not match its shape")
            items = np.frombuffer(payload, dtype=np_dtype).tolist()
        obj.shape, obj.items, obj.built = shape, items, True
        obj.numeric = not dtype.descr.startswith("O")
        return
    fail("BUILD of something other than numpy's array layout")
