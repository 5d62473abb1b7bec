"""The Keras 3 optimizers cornu ships, described as data, and lookup by name (`get`,
`serialize`, `deserialize`).

Each optimizer is a `Spec`: Keras' class name and default `name`, the default learning
rate, its own arguments in Keras' order (default and check for each), and the rule
that makes its optax transform from the learning rate and those arguments. `_build`
turns a spec into a class with Keras' constructor signature (learning_rate, the own
arguments, then keyword-only clipnorm, clipvalue, global_clipnorm, name and Keras 1's
`lr`), its checks, `_args` and `_rule`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import optax

from cornu import _names
from cornu.optimizers import _rules
from cornu.optimizers._checks import Default, check
from cornu.optimizers.base import BUILTIN, Optimizer


class Spec(NamedTuple):
    """One Keras optimizer as data."""

    class_name: str
    default_name: str  # Keras' default `name`
    learning_rate: float  # Keras' default
    args: tuple[tuple[str, Any, str], ...]  # (argument, default, check) in Keras' order
    rule: Callable[..., optax.GradientTransformation]  # rule(learning_rate, **args)
    doc: str


_BETAS = (("beta_1", 0.9, "unit_open"), ("beta_2", 0.999, "unit_open"),
          ("epsilon", 1e-7, "non_negative"))

SPECS: dict[str, Spec] = {spec.class_name: spec for spec in (
    Spec("SGD", "SGD", 0.01,
         (("momentum", 0.0, "unit_closed"), ("nesterov", False, "flag")), _rules.sgd,
         """Gradient descent, with optional (Nesterov) momentum, as in Keras 3.

    `velocity = momentum * velocity - learning_rate * g`, then `w += velocity`
    (Nesterov: `w += momentum * velocity - learning_rate * g`). The learning rate
    sits inside the velocity, as in Keras, also when it changes during training.
    """),
    Spec("RMSprop", "rmsprop", 0.001,
         (("rho", 0.9, "unit_open"), ("momentum", 0.0, "unit_closed"),
          ("epsilon", 1e-7, "non_negative"), ("centered", False, "flag")), _rules.rmsprop,
         """RMSprop as in Keras 3: `w -= lr * g / sqrt(v + epsilon)`, epsilon inside the sqrt.

    `centered=True` uses `v - mean(g)^2`; `momentum > 0` accumulates the steps.
    """),
    Spec("Adagrad", "adagrad", 0.001,
         (("initial_accumulator_value", 0.1, "non_negative"),
          ("epsilon", 1e-7, "non_negative")), _rules.adagrad,
         """Adagrad as in Keras 3: `acc += g^2; w -= lr * g / sqrt(acc + epsilon)`."""),
    Spec("Adadelta", "adadelta", 0.001,
         (("rho", 0.95, "unit_open"), ("epsilon", 1e-7, "non_negative")), _rules.adadelta,
         """Adadelta as in Keras 3 (epsilon inside both square roots), scaled by the rate."""),
    Spec("Adam", "adam", 0.001, (*_BETAS, ("amsgrad", False, "flag")), _rules.keras_adam,
         """Adam as in Keras 3: epsilon outside a bias-corrected square root.

    `w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + epsilon)`; `amsgrad=True`
    uses the running maximum of `v`. (optax.adam adds epsilon to the corrected
    `sqrt(v_hat)`, a slightly different rule.)
    """),
    Spec("AdamW", "adamw", 0.001,
         (("weight_decay", 0.004, "non_negative"), *_BETAS, ("amsgrad", False, "flag")),
         _rules.keras_adam,
         """Adam with Keras 3's decoupled weight decay: `w -= lr * weight_decay * w` first.

    The update needs the parameters: `tx.update(grads, state, params)`.
    """),
    Spec("Adamax", "adamax", 0.001, _BETAS, _rules.keras_adamax,
         """Adamax as in Keras 3: `u = max(b2*u, |g|); w -= lr/(1-b1^t) * m/(u+epsilon)`."""),
    Spec("Nadam", "nadam", 0.001, _BETAS, _rules.keras_nadam,
         """Nadam as in Keras 3 (Dozat's momentum schedule u_t = b1 * (1 - 0.5 * 0.96^t))."""),
)}

_COMMON = ("clipnorm", "clipvalue", "global_clipnorm", "name", "lr")


def _build(spec: Spec, base: type[Optimizer] = Optimizer) -> type[Optimizer]:
    """The optimizer class `spec` describes (a subclass of `base`)."""
    P = inspect.Parameter
    signature = inspect.Signature([
        P("self", P.POSITIONAL_OR_KEYWORD),
        P("learning_rate", P.POSITIONAL_OR_KEYWORD, default=Default(spec.learning_rate)),
        *(P(arg, P.POSITIONAL_OR_KEYWORD, default=default) for arg, default, _ in spec.args),
        *(P(arg, P.KEYWORD_ONLY, default=None) for arg in _COMMON),
    ])

    def __init__(self: Optimizer, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{spec.class_name}(): {error}. Its arguments: "
                            f"{str(signature).replace('self, ', '')}") from None
        bound.apply_defaults()
        values = bound.arguments
        Optimizer.__init__(self, values["learning_rate"],
                           **{arg: values[arg] for arg in _COMMON})
        for arg, _, rule in spec.args:
            setattr(self, arg, check(arg, values[arg], rule))

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    __init__.__qualname__ = f"{spec.class_name}.__init__"

    def _args(self: Optimizer) -> dict[str, Any]:
        return {arg: getattr(self, arg) for arg, _, _ in spec.args}

    def _rule(self: Optimizer, learning_rate: Any) -> optax.GradientTransformation:
        return spec.rule(learning_rate, **self._args())

    return type(spec.class_name, (base,), {
        "__init__": __init__, "_args": _args, "_rule": _rule, "__doc__": spec.doc,
        "__module__": "cornu.optimizers", "_default_name": spec.default_name,
        "spec": spec,
    })


SGD = _build(SPECS["SGD"])
RMSprop = _build(SPECS["RMSprop"])
Adagrad = _build(SPECS["Adagrad"])
Adadelta = _build(SPECS["Adadelta"])
Adam = _build(SPECS["Adam"])
AdamW = _build(SPECS["AdamW"], base=Adam)  # an Adam, as in Keras
Adamax = _build(SPECS["Adamax"])
Nadam = _build(SPECS["Nadam"])


_CLASSES: dict[str, type[Optimizer]] = {
    cls.__name__: cls for cls in (SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax, Nadam)
}
BUILTIN.update(_CLASSES)  # Optimizer.transform_key trusts these classes' configs
# Class names, then the lowercase names (listed last, so error messages show them).
_TABLE: dict[str, type[Optimizer]] = {
    **_CLASSES,
    **{cls._default_name.lower(): cls for cls in _CLASSES.values()},
}


def get(identifier: str | Optimizer | Mapping[str, Any]) -> Optimizer:
    """An optimizer from a name ("adam", "RMS prop"), a `serialize` dict, or an instance.

    A name gives a new optimizer with Keras' defaults; an instance comes back as is.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _names.lookup("optimizer", "optimizer", identifier, _TABLE)()
    if isinstance(identifier, Mapping):
        return deserialize(identifier)
    raise TypeError(
        "optimizer must be a name such as 'adam' or an optimizer object such as "
        f"cornu.optimizers.Adam(learning_rate=1e-3). Received: optimizer={identifier!r} "
        f"(of type {type(identifier).__name__})"
    )


def serialize(opt: Optimizer) -> dict[str, Any]:
    """`{"class_name": "Adam", "config": {...}}`, JSON-serialisable."""
    if not isinstance(opt, Optimizer):
        raise TypeError(
            f"serialize needs a cornu optimizer. Received: opt={opt!r} "
            f"(of type {type(opt).__name__})"
        )
    config = opt.get_config()
    rate = config["learning_rate"]
    if not isinstance(rate, float | Mapping):
        raise ValueError(
            "serialize saves a learning rate that is a number or a built-in schedule of "
            "cornu.optimizers.schedules; a function or another schedule class cannot be "
            f"saved. Received: learning_rate={rate!r}. Pass it to the optimizer again "
            "after loading (load_model(..., compile=False), then compile)."
        )
    return {"class_name": type(opt).__name__, "config": config}


def deserialize(config: Mapping[str, Any]) -> Optimizer:
    """Inverse of `serialize`; knows only this module's optimizer classes."""
    if not isinstance(config, Mapping) or "class_name" not in config:
        raise ValueError(
            'deserialize needs a dict like {"class_name": "Adam", "config": {...}}. '
            f"Received: config={config!r}"
        )
    class_name = config["class_name"]
    by_norm = {_names.normalize(name): cls for name, cls in _CLASSES.items()}
    cls = by_norm.get(_names.normalize(class_name)) if isinstance(class_name, str) else None
    if cls is None:
        raise ValueError(
            f"Unknown optimizer class: class_name={class_name!r}. "
            f"Known classes: {', '.join(sorted(_CLASSES))}."
        )
    return cls.from_config(config.get("config") or {})
