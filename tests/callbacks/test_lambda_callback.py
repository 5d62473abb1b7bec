"""LambdaCallback: Keras' calling conventions; only the hooks given are overridden."""

import pytest
from callback_helpers import data, small_model

from cornu.callbacks import Callback, LambdaCallback
from cornu.callbacks.base import overrides


def test_hooks_get_keras_arguments():
    x, y = data(64)
    events = []
    callback = LambdaCallback(
        on_train_begin=lambda logs: events.append(("train_begin", logs)),
        on_epoch_begin=lambda epoch, logs: events.append(("epoch_begin", epoch, logs)),
        on_epoch_end=lambda epoch, logs: events.append(("epoch_end", epoch, sorted(logs))),
        on_train_end=lambda logs: events.append(("train_end", sorted(logs))),
    )
    small_model().fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[callback])
    assert events == [
        ("train_begin", None),
        ("epoch_begin", 0, None), ("epoch_end", 0, ["accuracy", "loss"]),
        ("epoch_begin", 1, None), ("epoch_end", 1, ["accuracy", "loss"]),
        ("train_end", ["accuracy", "loss"]),
    ]


def test_batch_hooks_see_every_batch_with_logs_keyword():
    x, y = data(80)
    batches = []
    callback = LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(
        (batch, "loss" in logs)))
    small_model().fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[callback])
    assert batches == [(0, True), (1, True), (2, True)] * 2


def test_only_given_hooks_count_as_overridden():
    epoch_only = LambdaCallback(on_epoch_end=lambda epoch, logs: None)
    assert overrides(epoch_only, "on_epoch_end")
    assert not overrides(epoch_only, "on_train_batch_end")  # fit keeps its fast path
    batch = LambdaCallback(on_train_batch_begin=lambda batch, logs: None)
    assert overrides(batch, "on_train_batch_begin")
    assert not overrides(epoch_only, "on_train_batch_begin")
    assert isinstance(batch, LambdaCallback) and isinstance(batch, Callback)
    assert type(batch).__name__ == "LambdaCallback"


def test_other_hooks_by_keyword():
    x, y = data(64)
    steps = []
    callback = LambdaCallback(on_chunk_end=lambda step, logs: steps.append(step))
    small_model().fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[callback])
    assert steps == [2]


def test_unknown_hook_and_non_function():
    with pytest.raises(TypeError, match="unknown hook 'on_epoch_finish'"):
        LambdaCallback(on_epoch_finish=print)
    with pytest.raises(TypeError, match="on_epoch_end must be a function"):
        LambdaCallback(on_epoch_end=3)
