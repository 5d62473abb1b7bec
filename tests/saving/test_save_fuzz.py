"""Property: whatever bytes of a valid file change, load_model either returns the same
weights or raises CornuFileError, never another exception (and never hangs or crashes)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from saving_helpers import members, trained_model, write_zip

from cornu.saving import CornuFileError, load_model

# bytes that keep JSON parseable more often, so the config's meaning gets mutated too
_JSONISH = st.sampled_from(list(b'0123456789-.eE"{}[],: abcdefnrstuADS_'))
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> tuple[bytes, list[np.ndarray], dict[str, bytes]]:
    path = tmp_path_factory.mktemp("fuzz") / "model.cornu"
    model = trained_model()
    model.save(path)
    return path.read_bytes(), model.get_weights(), members(path)


def _load_or_refuse(raw: bytes, folder: Path, weights: list[np.ndarray] | None) -> None:
    path = folder / "mutated.cornu"
    path.write_bytes(raw)
    try:
        model = load_model(path)
    except CornuFileError:
        return
    if weights is not None:  # only the container changed: the weights must be the same
        for a, b in zip(weights, model.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


@SETTINGS
@given(data=st.data())
def test_flipped_bytes_load_the_same_weights_or_are_refused(original, tmp_path, data):
    raw, weights, _ = original
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(1, 255)),
                               min_size=1, max_size=4))
    mutated = bytearray(raw)
    for at, xor in flips:
        mutated[at] ^= xor
    _load_or_refuse(bytes(mutated), tmp_path, weights)


@SETTINGS
@given(data=st.data())
def test_cut_or_extended_files_load_the_same_weights_or_are_refused(original, tmp_path, data):
    raw, weights, _ = original
    cut = data.draw(st.integers(0, len(raw)))
    extra = data.draw(st.binary(max_size=64))
    _load_or_refuse(raw[:cut] + extra, tmp_path, weights)


@SETTINGS
@given(data=st.data())
def test_mutated_members_in_a_valid_zip_load_or_are_refused(original, tmp_path, data):
    """The zip's checksums are recomputed, so the JSON and safetensors readers see the
    damage. The weights may then differ (their bytes may be what changed)."""
    _, _, parts = original
    name = data.draw(st.sampled_from(sorted(parts)))
    content = bytearray(parts[name])
    if content:
        for _ in range(data.draw(st.integers(1, 3))):
            at = data.draw(st.integers(0, len(content) - 1))
            content[at] = data.draw(st.one_of(st.integers(0, 255), _JSONISH))
    if data.draw(st.booleans()):
        content = content[:data.draw(st.integers(0, len(content)))]
    path = tmp_path / "rebuilt.cornu"
    write_zip(path, [(k, bytes(content) if k == name else v) for k, v in parts.items()])
    _load_or_refuse(path.read_bytes(), tmp_path, None)


def test_the_original_loads(original, tmp_path):
    raw, weights, _ = original
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        assert zf.testzip() is None
    _load_or_refuse(raw, tmp_path, weights)
