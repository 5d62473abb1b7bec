"""Discretization, Hashing, IntegerLookup, StringLookup and TextVectorization against
Keras 3: the outputs and vocabularies Keras gives on the same vocabularies and inputs
(tests/fixtures/keras_preprocessing_reference.json, made by make_preprocessing_reference.py
with TensorFlow, which Keras' lookup layers need), config round trips, use inside the
compiled step, saving, and the errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import cornu
from cornu import layers

os.environ.setdefault("KERAS_BACKEND", "jax")
FIXTURES = Path(__file__).parent.parent / "fixtures"
REFERENCE = json.loads((FIXTURES / "keras_preprocessing_reference.json").read_text())
STRINGS = ("StringLookup", "TextVectorization")


def _case_id(record):
    return f"{record['layer']}-{json.dumps(record['kwargs'], sort_keys=True)}" \
           f"-{'adapt' if record['adapt'] is not None else 'given'}"


def _make(record):
    kwargs = dict(record["kwargs"])
    if isinstance(kwargs.get("ngrams"), list):
        kwargs["ngrams"] = tuple(kwargs["ngrams"])
    layer = getattr(layers, record["layer"])(**kwargs)
    if record["adapt"] is not None:
        data = record["adapt"]
        if record["layer"] not in STRINGS:
            data = np.asarray(data)
        elif record["layer"] == "StringLookup" and isinstance(data[0], list):
            data = np.asarray(data)
        layer.adapt(data if record["layer"] != "TextVectorization" else np.asarray(data))
    return layer


def _inputs(record):
    x = record["inputs"]
    if record["layer"] in STRINGS and not record["kwargs"].get("invert"):
        return np.asarray(x, dtype=object)
    if record["layer"] == "Hashing" and isinstance(np.ravel(x)[0], str):
        return np.asarray(x)
    return np.asarray(x)


@pytest.mark.parametrize("record", REFERENCE, ids=[_case_id(r) for r in REFERENCE])
def test_matches_keras(record):
    layer = _make(record)
    got = layer(_inputs(record))
    expected = record["output"]
    if isinstance(np.ravel(np.asarray(expected, dtype=object))[0], str):
        assert np.asarray(got).tolist() == expected
    else:
        np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(expected, np.float64),
                                   rtol=1e-6, atol=1e-6)
    if "vocabulary" in record:
        assert layer.get_vocabulary() == record["vocabulary"]
    if "bin_boundaries" in record:
        np.testing.assert_allclose(layer.bin_boundaries, record["bin_boundaries"], rtol=1e-6)
    assert set(layer.get_config()) >= set(record["config_keys"]) - {"dtype"}
    # the config round trip gives the same layer, the vocabulary included
    again = type(layer).from_config(layer.get_config())
    np.testing.assert_array_equal(np.asarray(again(_inputs(record))), np.asarray(got))


# -- inside models: integer lookups in the compiled step, strings mapped on the host ------

def test_integer_layers_run_inside_the_compiled_step_without_recompiling():
    ids, values = cornu.Input(shape=(3,), dtype="int32"), cornu.Input(shape=(2,))
    lookup = layers.IntegerLookup(vocabulary=[4, 8, 15, 16], num_oov_indices=2)
    hashing = layers.Hashing(num_bins=5, salt=7, output_mode="multi_hot")
    bins = layers.Discretization(bin_boundaries=[-0.5, 0.5], output_mode="count")
    merged = layers.Concatenate()([
        layers.Flatten()(layers.Embedding(6, 2)(lookup(ids))), hashing(ids), bins(values)])
    model = cornu.Model([ids, values], layers.Dense(1)(merged))
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = [rng.choice([4, 8, 15, 16, 23, 42], size=(10, 3)).astype(np.int32),
         rng.normal(size=(10, 2)).astype(np.float32)]
    model.fit(x, np.ones((10, 1), np.float32), batch_size=4, epochs=2, verbose=0)
    assert model._engine.traces["train"] == 1
    # the compiled lookups, hashes and bins give what the layers give eagerly
    features = cornu.Model([ids, values], [lookup(ids), hashing(ids), bins(values)])
    compiled = features.predict(x, verbose=0)
    eager = [lookup(x[0]), hashing(x[0]), bins(x[1])]
    for got, want in zip(compiled, eager, strict=True):
        np.testing.assert_array_equal(got, np.asarray(want))
    np.testing.assert_array_equal(compiled[0][x[0] == 8], 3)  # 8 is the 2nd word, after 2 OOVs


def _texts():
    texts = np.array([["the cat sat"], ["the dog ran far"], ["a cat ran"], ["dogs and cats"],
                      ["The CAT!"], ["unknown words only"]])
    return texts, np.array([1, 0, 1, 0, 1, 0], np.float32)


def test_a_text_model_maps_strings_on_the_host(tmp_path):
    texts, y = _texts()
    vectorizer = layers.TextVectorization(max_tokens=20, output_sequence_length=5)
    vectorizer.adapt(texts)
    model = cornu.Sequential([cornu.Input(shape=(1,), dtype="string"), vectorizer,
                              layers.Embedding(20, 4), layers.GlobalAveragePooling1D(),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(texts, y, batch_size=4, epochs=2, verbose=0, validation_split=0.25)
    assert model._engine.traces["train"] == 1
    # the model on texts equals the same layers on the ids vectorized eagerly
    on_ids = cornu.Sequential([cornu.Input(shape=(5,), dtype="int32"), *model.layers[1:]])
    expected = on_ids.predict(np.asarray(vectorizer(texts)), verbose=0)
    np.testing.assert_allclose(model.predict(texts, verbose=0), expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(model(texts)), expected, rtol=1e-6)
    assert len(model.evaluate(texts, y, verbose=0)) == 2
    # a source of batches of texts
    batches = [(texts[:3], y[:3]), (texts[3:], y[3:])]
    model.fit(iter(batches), epochs=1, verbose=0)
    for suffix in (".cornu",):
        model.save(tmp_path / f"m{suffix}")
        loaded = cornu.models.load_model(tmp_path / f"m{suffix}")
        assert loaded.layers[0].get_vocabulary() == vectorizer.get_vocabulary()
        np.testing.assert_array_equal(loaded.predict(texts, verbose=0),
                                      model.predict(texts, verbose=0))


@pytest.mark.parametrize("mode", ["multi_hot", "count", "tf_idf", "int"])
def test_text_vectorization_symbolic_shape_drops_the_trailing_axis_of_one(mode):
    """A (batch, 1) column of texts is split into one row a text, so the symbolic output is
    2-D as the eager one is (a bag-of-words head after it sees the vocabulary axis)."""
    texts, y = _texts()
    vectorizer = layers.TextVectorization(max_tokens=12, output_mode=mode)
    vectorizer.adapt(texts)
    symbolic = vectorizer(cornu.Input(shape=(1,), dtype="string"))
    eager = np.asarray(vectorizer(texts))
    assert len(symbolic.shape) == eager.ndim == 2
    if mode != "int":
        assert tuple(symbolic.shape) == (None, eager.shape[1])
        inputs = cornu.Input(shape=(1,), dtype="string")
        model = cornu.Model(inputs, layers.Dense(1, activation="sigmoid")(vectorizer(inputs)))
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        assert model.output_shape == (None, 1)
        assert len(model.evaluate(texts, y, verbose=0)) == 2


def test_string_layers_elsewhere_in_a_model_are_refused():
    ids = cornu.Input(shape=(2,), dtype="int32")
    with pytest.raises(ValueError, match="keeps out of the compiled model.*ids = layer"):
        layers.StringLookup(vocabulary=["a"], invert=True)(ids)
    with pytest.raises(ValueError, match="can only read a string Input directly"):
        layers.TextVectorization()(layers.Dense(2)(cornu.Input(shape=(1,))))
    texts = cornu.Input(shape=(1,), dtype="string")
    lookup = layers.StringLookup(vocabulary=["a", "b"])
    model = cornu.Model(texts, [lookup(texts), layers.StringLookup(vocabulary=["b"])(texts)])
    with pytest.raises(ValueError, match="must be read by exactly one StringLookup"):
        model.predict(np.array([["a"]]), verbose=0)


# -- adapt on sources, vocabulary files, saving --------------------------------------------

def test_adapt_reads_any_source_of_batches_as_the_whole_array():
    texts, _ = _texts()
    whole, batched = layers.TextVectorization(), layers.TextVectorization()
    whole.adapt(texts)
    batched.adapt(iter([texts[:2], texts[2:4], texts[4:]]))
    assert whole.get_vocabulary() == batched.get_vocabulary()
    lookup = layers.StringLookup()
    lookup.adapt((np.array(["a", "b", "b"]), np.zeros(3)) for _ in range(3))  # (x, y)
    assert lookup.get_vocabulary() == ["[UNK]", "b", "a"]
    ints = layers.IntegerLookup(max_tokens=3)
    ints.adapt([np.array([1, 2, 2]), np.array([3, 3, 3])], steps=None)
    assert ints.get_vocabulary() == [-1, 3, 2]
    bins = layers.Discretization(num_bins=2)
    bins.adapt(np.arange(100.0).reshape(10, 10)[i] for i in range(10))
    assert len(bins.bin_boundaries) == 1 and 40 < bins.bin_boundaries[0] < 60


def test_vocabulary_files(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("apple\nbanana\ncherry\n")
    lookup = layers.StringLookup(vocabulary=str(path))
    np.testing.assert_array_equal(np.asarray(lookup(np.array(["banana", "kiwi"]))), [2, 0])
    assert lookup.get_vocabulary() == ["[UNK]", "apple", "banana", "cherry"]
    again = layers.StringLookup.from_config(lookup.get_config())  # the tokens in the config
    assert again.get_vocabulary() == lookup.get_vocabulary()
    with pytest.raises(ValueError, match="does not exist"):
        layers.StringLookup(vocabulary=str(tmp_path / "missing.txt"))
    # a saved config that names a file is refused: loading reads no file it names
    for cls in (layers.StringLookup, layers.IntegerLookup, layers.TextVectorization):
        with pytest.raises(ValueError, match="reads no file named in a saved model"):
            cls.from_config({"name": "x", "vocabulary": str(path)})


@pytest.mark.parametrize("name", ["keras_lookup_model", "keras_text_model"])
def test_keras_file_with_a_vocabulary_asset(name, tmp_path):
    """An adapted IntegerLookup / TextVectorization saved by Keras writes its vocabulary as
    assets/layers/<layer>/vocabulary.txt; cornu reads it, and writes the vocabulary into
    the config, which Keras reads back (checked when the fixtures were made)."""
    reference = json.loads((FIXTURES / f"{name}.json").read_text())
    model = cornu.models.load_model(FIXTURES / f"{name}.keras")
    assert model.layers[0].get_vocabulary() == reference["vocabulary"]
    x = np.asarray(reference["inputs"])
    np.testing.assert_allclose(model.predict(x, verbose=0), reference["output"], rtol=1e-6)
    for suffix in (".keras", ".cornu"):
        model.save(tmp_path / f"back{suffix}")
        back = cornu.models.load_model(tmp_path / f"back{suffix}")
        assert back.layers[0].get_vocabulary() == reference["vocabulary"]
        np.testing.assert_allclose(back.predict(x, verbose=0), reference["output"], rtol=1e-6)


def _with_asset(tmp_path, text: bytes):
    import zipfile

    source = zipfile.ZipFile(FIXTURES / "keras_lookup_model.keras")
    path = tmp_path / "edited.keras"
    with zipfile.ZipFile(path, "w") as out:
        for name in source.namelist():
            data = source.read(name)
            out.writestr(name, text if name.endswith("vocabulary.txt") else data)
    return path


def test_hostile_vocabulary_assets_are_refused(tmp_path, monkeypatch):
    from cornu.saving import CornuFileError, limits

    monkeypatch.setattr(limits, "MAX_VOCABULARY_BYTES", 1000)
    with pytest.raises(CornuFileError, match="more than its limit"):
        cornu.models.load_model(_with_asset(tmp_path, b"-1\n" + b"7\n" * 600))
    monkeypatch.undo()
    with pytest.raises(CornuFileError, match="vocabulary of layer 'ids'.*not valid"):
        cornu.models.load_model(_with_asset(tmp_path, b"-1\n5\n__import__('os')\n"))
    with pytest.raises(CornuFileError, match="vocabulary of layer 'ids'.*repeated"):
        cornu.models.load_model(_with_asset(tmp_path, b"-1\n5\n5\n"))


# -- errors, as Keras', naming the argument and the value -------------------------------------

@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.Discretization(), "either num_bins or bin_boundaries"),
    (lambda: layers.Discretization(num_bins=3, bin_boundaries=[0.0]), "Both num_bins"),
    (lambda: layers.Discretization(bin_boundaries=[1.0, 0.0]), "must be a sorted list"),
    (lambda: layers.Hashing(num_bins=0), r"num_bins=0"),
    (lambda: layers.Hashing(num_bins=3, salt="x"), r"salt='x'"),
    (lambda: layers.StringLookup(output_mode="sum"), r"output_mode='sum'"),
    (lambda: layers.StringLookup(max_tokens=1), r"max_tokens=1"),
    (lambda: layers.StringLookup(invert=True, output_mode="count"), "must be 'int' when invert"),
    (lambda: layers.StringLookup(vocabulary=["a", "a"]), "repeated term"),
    (lambda: layers.StringLookup(vocabulary=["a"], output_mode="tf_idf"), "idf_weights"),
    (lambda: layers.IntegerLookup(vocabulary=[1, 2], max_tokens=2), "larger than the maximum"),
    (lambda: layers.IntegerLookup(vocabulary=[2**40]), "fit in int32"),
    (lambda: layers.TextVectorization(output_mode="count", output_sequence_length=3),
     "output_sequence_length must not be set"),
    (lambda: layers.TextVectorization(split="comma"), r"split='comma'"),
    (lambda: layers.TextVectorization(ngrams=0), r"ngrams=0"),
])
def test_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_call_errors():
    with pytest.raises(ValueError, match="no bin boundaries.*adapt"):
        layers.Discretization(num_bins=3)(np.zeros((2, 1)))
    with pytest.raises(RuntimeError, match="must set the layer's vocabulary"):
        layers.StringLookup(output_mode="multi_hot")(np.array([["a"]]))
    with pytest.raises(ValueError, match="found OOV values"):
        layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(np.array(["b"]))
    with pytest.raises(TypeError, match="maps strings. Received: ndarray of dtype int64"):
        layers.StringLookup(vocabulary=["a"])(np.array([1, 2], np.int64))
    with pytest.raises(ValueError, match="static vocabulary"):
        layers.IntegerLookup(vocabulary=[1]).adapt(np.array([1, 2]))


def test_a_model_of_all_five_round_trips_through_keras_files(tmp_path, monkeypatch):
    """The round-trip example of the five layers (tests/saving), as a .keras file (a copy
    of it was loaded by Keras 3 with TensorFlow when this was written: the same outputs)."""
    import importlib.util

    saving = Path(__file__).parent.parent / "saving"
    monkeypatch.syspath_prepend(str(saving))  # its saving_helpers
    spec = importlib.util.spec_from_file_location("roundtrip", saving / "test_save_roundtrip.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model, x = module._preprocessing_lookups()
    model.save(tmp_path / "all.keras")
    loaded = cornu.models.load_model(tmp_path / "all.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
