"""Keras 3 optimizers as thin factories over optax.

Each class keeps Keras 3's name, argument names, defaults and update rule, and builds
an `optax.GradientTransformation` with `transform()`. Where optax's rule is Keras'
rule (SGD, RMSprop, Adagrad, Adadelta) the transform is a chain of optax building
blocks; where it is not (Adam, AdamW, Adamax, Nadam: Keras places epsilon and the
bias corrections differently) a short transform follows Keras' `update_step`.

The learning rate lives in the optimizer state: a float as a hyperparameter
(`optax.inject_hyperparams`), which the training loop changes between epochs with
`set_learning_rate` without recompiling; a schedule (`schedules.ExponentialDecay`, ...,
or a function `step -> rate`) as code inside the update, evaluated at the state's step
count before each step, as in Keras. Gradient clipping (`clipnorm`, `clipvalue`,
`global_clipnorm`) runs inside the transform, before the rule, as in Keras.

Example::

    opt = get("adam")                         # or Adam(learning_rate=1e-3)
    tx = opt.transform()
    state = tx.init(params)
    updates, state = tx.update(grads, state, params)
    state = set_learning_rate(state, 1e-4)    # between epochs; no recompile

For hand-written loops the optimizers also have Keras' object API on the same transform:
`build(variables)`, `variables`, `iterations`, `stateless_apply`, `apply`,
`apply_gradients` (see `Optimizer`).

Keras 3 differences: no `weight_decay` on optimizers other than AdamW, no EMA, loss
scaling or gradient accumulation. Keras 1's `lr=` works with a DeprecationWarning.
"""

from cornu.optimizers import schedules
from cornu.optimizers._rules import ScheduledState
from cornu.optimizers.base import (
    Optimizer,
    get_iterations,
    get_learning_rate,
    set_iterations,
    set_learning_rate,
)
from cornu.optimizers.catalog import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Nadam,
    RMSprop,
    deserialize,
    get,
    serialize,
)

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "ScheduledState",
    "deserialize",
    "get",
    "get_iterations",
    "get_learning_rate",
    "schedules",
    "serialize",
    "set_iterations",
    "set_learning_rate",
]
