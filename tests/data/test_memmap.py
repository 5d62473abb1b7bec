"""Arrays in file mappings (np.memmap, np.load(mmap_mode="r")) are read batch by batch:
the same numbers as in-memory arrays, and a process memory bounded by the batches, not by
the file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import cornu
from cornu.data import sources
from cornu.layers import Dense

REPO = Path(__file__).resolve().parents[2]


def _model():
    cornu.utils.set_random_seed(0)
    model = cornu.Sequential([cornu.Input((6,)), Dense(8, activation="relu"),
                              Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _files(tmp_path, n=70):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, n)]
    np.save(tmp_path / "x.npy", x)
    mapped = np.memmap(tmp_path / "y.bin", np.float32, "w+", shape=y.shape)
    mapped[:] = y
    mapped.flush()
    return x, y, np.load(tmp_path / "x.npy", mmap_mode="r"), \
        np.memmap(tmp_path / "y.bin", np.float32, "r", shape=y.shape)


def test_mapped_arrays_are_recognised(tmp_path):
    x, _, mx, my = _files(tmp_path)
    assert sources.is_mapped(mx) and sources.is_mapped(my) and sources.is_mapped(mx[3:])
    assert sources.is_mapped([x, mx]) and sources.is_mapped({"a": mx})
    assert not sources.is_mapped(x) and not sources.is_mapped(np.asarray(mx).copy())


def test_fit_evaluate_predict_on_mapped_arrays_equal_in_memory_ones(tmp_path):
    x, y, mx, my = _files(tmp_path)
    a, b = _model(), _model()
    ha = a.fit(x, y, batch_size=16, epochs=2, shuffle=False, validation_split=0.2, verbose=0)
    hb = b.fit(mx, my, batch_size=16, epochs=2, shuffle=False, validation_split=0.2,
               verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-7)
    for key in ("loss", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(ha.history[key], hb.history[key], rtol=1e-5)
    np.testing.assert_allclose(b.evaluate(mx, my, verbose=0), a.evaluate(x, y, verbose=0),
                               rtol=1e-6)
    np.testing.assert_allclose(b.predict(mx, verbose=0), a.predict(x, verbose=0), rtol=1e-6)
    shuffled = _model().fit(mx, my, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(shuffled.history["loss"][0])


def test_bad_values_in_a_mapped_batch_are_named(tmp_path):
    _, y, _, my = _files(tmp_path)
    bad = np.memmap(tmp_path / "bad.bin", np.float32, "w+", shape=(70, 6))
    bad[40, 2] = np.nan
    bad.flush()
    with pytest.raises(ValueError, match="a batch of x contains NaN"):
        _model().fit(np.memmap(tmp_path / "bad.bin", np.float32, "r", shape=(70, 6)), my,
                     batch_size=16, epochs=1, shuffle=False, verbose=0)


CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import cornu
    from cornu.layers import Dense

    def status(key):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) // 1024 for line in f if line.startswith(key))

    path, rows = sys.argv[1], int(sys.argv[2])
    x = np.load(path, mmap_mode="r")
    y = np.eye(10, dtype=np.float32)[np.arange(rows) % 10]
    model = cornu.Sequential([cornu.Input((784,)), Dense(10, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.fit(x[:2000], y[:2000], batch_size=500, epochs=1, verbose=0)  # compiled, warm
    before = status("VmRSS:")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak (VmHWM) starts again from the memory held now
    model.fit(x, y, batch_size=500, epochs=1, verbose=0)
    print(before, status("VmHWM:"), status("VmRSS:"))
""")


@pytest.mark.slow
def test_a_file_larger_than_the_budget_trains_in_bounded_memory(tmp_path):
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("resets the child's peak memory through /proc (Linux)")
    rows = 96_000  # 301 MB of float32 pixels
    x = np.lib.format.open_memmap(tmp_path / "x.npy", "w+", np.float32, (rows, 784))
    for start in range(0, rows, 16_000):
        x[start:start + 16_000] = np.random.default_rng(start).random((16_000, 784),
                                                                        np.float32)
    x.flush()
    del x
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO),
                                                        os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "x.npy"), str(rows)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    before, peak, after = (int(v) for v in done.stdout.split())
    # the file is 301 MB (287 MiB): the epoch may add its chunks (8 MB each, three in
    # flight), the pages of the file not yet handed back (rows read in a shuffled order
    # bring whole large pages of the page cache in) and the labels' batches; after the
    # fit the file's pages are handed back
    assert peak - before < 100, (before, peak, after)
    assert after - before < 40, (before, peak, after)


def _batches_of(stream, position=None, seen=0):
    batches = stream.resume(position or {"pass": 0}, seen)
    return [[np.array(a) for a in (b[0], b[1])] for b in batches]


@pytest.mark.parametrize("opened", ["load", "memmap", "view"])
def test_shuffled_mapped_rows_are_read_from_the_file_in_the_shuffled_order(tmp_path, opened):
    x, y, mx, my = _files(tmp_path)
    if opened == "memmap":
        mx = np.memmap(tmp_path / "x.npy", np.float32, "r", shape=x.shape, offset=128)
    elif opened == "view":  # a view of the mapping, from row 10 on
        x, y, mx, my = x[10:], y[10:], np.asarray(mx)[10:], my[10:]
    mapped = sources.MappedBatches([mx], [my], None, 16, shuffle=True, seed=[3, 4])
    assert set(mapped.file_rows) == {id(mx), id(my)}  # os.pread, not the mapping
    memory = sources.ArrayBatches([x], [y], None, 16, shuffle=True, seed=[3, 4])
    expected = _batches_of(memory)
    got = _batches_of(mapped)
    assert len(got) == len(expected) == -(-len(x) // 16)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g[0], e[0])
        np.testing.assert_array_equal(g[1], e[1])
    # resumed at the third batch of the same pass: the same rows from there on
    resumed = _batches_of(mapped, {"pass": 0}, 2)
    for g, e in zip(resumed, expected[2:], strict=True):
        np.testing.assert_array_equal(g[0], e[0])
    # in order, rows are read through the mapping
    assert not sources.MappedBatches([mx], [my], None, 16).file_rows


def test_copy_on_write_and_fortran_files_are_read_through_the_mapping(tmp_path):
    x, y, _, my = _files(tmp_path)
    np.save(tmp_path / "f.npy", np.asfortranarray(x))
    cow = np.load(tmp_path / "x.npy", mmap_mode="c")
    cow[0, 0] = 99.0  # in this process only: the file still holds x[0, 0]
    fortran = np.load(tmp_path / "f.npy", mmap_mode="r")
    assert not fortran.flags.c_contiguous
    for mx, want in ((cow, np.where(np.arange(6) == 0, 99.0, x[0])), (fortran, x[0])):
        mapped = sources.MappedBatches([mx], [my], None, 16, shuffle=True, seed=[1])
        assert id(mx) not in mapped.file_rows
        rows = np.concatenate([b[0] for b in _batches_of(mapped)])
        order = np.random.default_rng([1, 0]).permutation(len(x))
        np.testing.assert_array_equal(rows[np.argsort(order)][0], want)


def test_a_shuffled_fit_reads_the_same_rows_from_the_file_as_through_the_mapping(tmp_path):
    _, _, mx, my = _files(tmp_path)
    by_file = _model()
    by_file.fit(mx, my, batch_size=16, epochs=2, verbose=0)
    through_mapping = _model()  # copy-on-write mappings are read through the mapping
    through_mapping.fit(np.load(tmp_path / "x.npy", mmap_mode="c"),
                        np.memmap(tmp_path / "y.bin", np.float32, "c", shape=my.shape),
                        batch_size=16, epochs=2, verbose=0)
    for a, b in zip(by_file.get_weights(), through_mapping.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
