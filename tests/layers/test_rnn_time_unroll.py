"""CORNU_RNN_UNROLL: time steps written out per iteration of the recurrent layers' scan
over time. The same function at any setting; a bad value is refused naming it."""

import numpy as np
import pytest

import cornu
from cornu.layers.rnn import time_unroll


def _outputs(monkeypatch, setting):
    if setting is None:
        monkeypatch.delenv("CORNU_RNN_UNROLL", raising=False)
    else:
        monkeypatch.setenv("CORNU_RNN_UNROLL", setting)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 9, 5)).astype("float32")
    mask = np.ones((4, 9), bool)
    mask[:2, 6:] = False
    cornu.utils.set_random_seed(3)
    lstm = cornu.layers.LSTM(6, return_sequences=True, return_state=True)
    gru = cornu.layers.GRU(5, go_backwards=True)
    outs = lstm(x, mask=mask)
    return [np.asarray(o) for o in (*outs, gru(x, mask=mask))]


def test_unrolled_time_loop_computes_the_same(monkeypatch):
    for got, want in zip(_outputs(monkeypatch, "4"), _outputs(monkeypatch, None),
                         strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_a_setting_past_the_sequence_writes_the_whole_loop_out(monkeypatch):
    monkeypatch.setenv("CORNU_RNN_UNROLL", "50")
    assert time_unroll(9) == 9
    monkeypatch.delenv("CORNU_RNN_UNROLL")
    assert time_unroll(9) == 1


@pytest.mark.parametrize("bad", ["0", "-2", "four"])
def test_a_bad_setting_is_refused_naming_it(monkeypatch, bad):
    monkeypatch.setenv("CORNU_RNN_UNROLL", bad)
    layer = cornu.layers.SimpleRNN(3)
    with pytest.raises(ValueError, match=f"CORNU_RNN_UNROLL={bad!r}"):
        layer(np.zeros((2, 4, 3), "float32"))


def test_an_accelerator_writes_short_sequences_out_whole(monkeypatch):
    from cornu.layers import rnn

    monkeypatch.delenv("CORNU_RNN_UNROLL", raising=False)
    monkeypatch.setattr(rnn.jax, "default_backend", lambda: "gpu")
    assert time_unroll(28) == 28
    assert time_unroll(500) == rnn.ACCELERATOR_UNROLL
