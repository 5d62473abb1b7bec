"""Models keep the lists of their weights between predict, evaluate and calls (walking the
layers each time cost more than a small model's compiled call) and walk them again whenever
the structure may have changed."""

import numpy as np

import cornu
from cornu import layers


def _mlp():
    model = cornu.Sequential([cornu.Input((4,)), layers.Dense(3), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


X = np.arange(8, dtype=np.float32).reshape(2, 4) / 8


def test_no_walk_when_nothing_changed(monkeypatch):
    model = _mlp()
    model.predict(X, verbose=0)
    walks = []
    original = cornu.Model._weight_slots
    monkeypatch.setattr(cornu.Model, "_weight_slots",
                        lambda self: walks.append(1) or original(self))
    model.predict(X, verbose=0)
    model(X)
    model.evaluate(X, np.zeros((2, 2), np.float32), verbose=0)
    assert walks == []


def test_sequential_add_and_pop_are_seen():
    model = _mlp()
    assert model.predict(X, verbose=0).shape == (2, 2)
    model.add(layers.Dense(5))
    assert model.predict(X, verbose=0).shape == (2, 5)
    assert len(model._engine_slots()[0]) == 3  # one entry per layer
    model.pop()
    assert model.predict(X, verbose=0).shape == (2, 2)


def test_freezing_a_layer_or_a_variable_is_seen():
    model = _mlp()
    model.predict(X, verbose=0)
    assert sum(len(d) for d in model._engine_slots()[0]) == 4
    model.layers[0].trainable = False
    assert sum(len(d) for d in model._engine_slots()[0]) == 2
    model.layers[0].trainable = True
    model.layers[1].bias.trainable = False
    trainable, frozen = model._engine_slots()
    assert sum(len(d) for d in trainable) == 3 and sum(len(d) for d in frozen) == 1
    # and fit trains what is trainable now
    before = np.array(model.layers[1].bias.numpy())
    kernel = np.array(model.layers[1].kernel.numpy())
    model.fit(X, np.ones((2, 2), np.float32), epochs=2, verbose=0)
    np.testing.assert_array_equal(model.layers[1].bias.numpy(), before)
    assert not np.array_equal(model.layers[1].kernel.numpy(), kernel)


class Growing(cornu.Model):
    def __init__(self):
        super().__init__()
        self.first = layers.Dense(3)

    def call(self, x):
        y = self.first(x)
        return self.second(y) if hasattr(self, "second") else y


def test_a_sublayer_set_after_the_first_call_is_seen():
    model = Growing()
    assert model(X).shape == (2, 3)
    model.second = layers.Dense(6)
    assert model(X).shape == (2, 6)
    names = [k for d in model._engine_slots()[0] for k in d]
    assert len(names) == 4, names
    del model.second
    assert model(X).shape == (2, 3)
    assert sum(len(d) for d in model._engine_slots()[0]) == 2


def test_weights_set_after_predict_are_used():
    model = _mlp()
    first = model.predict(X, verbose=0)
    model.set_weights([w * 0 for w in model.get_weights()])
    np.testing.assert_array_equal(model.predict(X, verbose=0), np.zeros_like(first))


def test_a_weight_added_later_is_seen():
    class Scale(layers.Layer):
        def call(self, x):
            return x * self.scale if hasattr(self, "scale") else x

    model = cornu.Sequential([cornu.Input((4,)), Scale()])
    model.predict(X, verbose=0)
    assert sum(len(d) for d in model._engine_slots()[0]) == 0
    layer = model.layers[0]
    layer.scale = layer.add_weight(shape=(4,), initializer="ones")
    assert sum(len(d) for d in model._engine_slots()[0]) == 1
