"""cornu.ops calls on symbolic tensors (OpLayer) in Keras' functional config, both ways.

Keras 3 records `a + b`, `ops.concatenate([a, b], axis=-1)` or `ops.sum(x, axis=-1)` in a
functional model as an operation node: {"module": "keras.src.ops.numpy", "class_name":
"Concatenate", "config": {"name": ..., "axis": -1}, "registered_name": "Concatenate",
"inbound_nodes": [{"args": [[tensor, tensor]], "kwargs": {}}]}: the operation's class
holds the call's settings, the node the arguments its `call` takes (the tensors, and
constants such as the 2.0 of `x * 2.0`). Here both directions: an OpLayer node as that
entry, and that entry as an OpLayer call. The op is found only among cornu.ops' own
functions (op_layer.op_table), by the class name Keras gives it: nothing is imported.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from cornu.layers.op_layer import op_table
from cornu.saving.errors import CornuFileError

__all__ = ["cornu_op_entry", "is_keras_op", "keras_op_entry"]

#: the argument names Keras' operations take in `call` (the rest are their settings)
_CALL_NAMES = frozenset({
    "a", "b", "bias", "bins", "branches", "choicelist", "condition", "condlist",
    "constant_values", "data", "default", "depthwise_kernel", "elements", "elems", "f",
    "false_fn", "fill_value", "index", "indices", "init", "init_val", "inputs", "kernel",
    "key", "loop_vars", "mask", "operands", "output", "pointwise_kernel", "pred",
    "predictions", "q", "query", "scale", "segment_ids", "sorted_sequence", "start",
    "start_indices", "step", "stop", "target", "targets", "true_fn", "updates", "value",
    "values", "variable", "weights", "x", "x1", "x2", "xs", "y"})
#: where that rule does not give Keras' call arguments
_CALL_PARAMS = {"allclose": ("x1", "x2"), "average": ("x", "weights"), "bincount": ("x",),
                "pad": ("x", "constant_values"), "squareplus": ("x",)}
#: the Keras modules of the operations outside keras.src.ops.numpy
_MODULES = {
    "core": ("cast", "convert_to_tensor", "scatter", "scatter_update", "slice",
             "slice_update", "stop_gradient", "unstack"),
    "nn": ("average_pool", "binary_crossentropy", "categorical_crossentropy", "celu", "conv",
           "conv_transpose", "depthwise_conv", "dot_product_attention", "elu", "gelu", "glu",
           "hard_shrink", "hard_sigmoid", "hard_silu", "hard_tanh", "leaky_relu",
           "log_sigmoid", "log_softmax", "max_pool", "moments", "multi_hot", "normalize",
           "one_hot", "psnr", "relu", "relu6", "selu", "separable_conv", "sigmoid", "silu",
           "soft_shrink", "softmax", "softplus", "softsign",
           "sparse_categorical_crossentropy", "sparse_plus", "squareplus", "tanh_shrink",
           "threshold"),
    "linalg": ("cholesky", "det", "eigh", "inv", "lstsq", "norm", "pinv", "qr", "solve",
               "solve_triangular", "svd"),
    "math": ("erf", "erfc", "erfinv", "extract_sequences", "in_top_k", "logdet", "logsumexp",
             "rsqrt", "segment_max", "segment_min", "segment_prod", "segment_sum", "top_k"),
}
_MODULE_OF = {op: module for module, ops in _MODULES.items() for op in ops}
#: Keras' class names that are not the op's name in CamelCase
_CLASS_NAMES = {"allclose": "AllClose", "isin": "IsIn", "psnr": "PSNR",
                "searchsorted": "SearchSorted", "svd": "SVD", "getitem": "GetItem"}


def _class_name(op: str) -> str:
    return _CLASS_NAMES.get(op) or "".join(p[:1].upper() + p[1:] for p in op.split("_"))


def _ops_by_class() -> dict[str, str]:
    return {_class_name(op): op for op in op_table()}


def _signature(op: str) -> inspect.Signature | None:
    fn: Callable = op_table()[op]
    try:
        return inspect.signature(inspect.unwrap(fn))
    except (TypeError, ValueError):
        return None


def _call_params(op: str, signature: inspect.Signature) -> tuple[str, ...]:
    if op in _CALL_PARAMS:
        return _CALL_PARAMS[op]
    names = []
    for name in signature.parameters:
        if name not in _CALL_NAMES:
            break
        names.append(name)
    return tuple(names)


def is_keras_op(entry: Any) -> bool:
    """Whether a Keras config entry is an operation node (keras.src.ops.*)."""
    module = entry.get("module") if isinstance(entry, dict) else None
    return isinstance(module, str) and (module.startswith("keras.src.ops.")
                                        or module.startswith("keras.ops"))


def keras_op_entry(layer: Any, node: Any, encode: Callable[[Any], Any]) -> dict[str, Any]:
    """An OpLayer's call as Keras' operation entry (the layer's one call: `node`);
    `encode` writes a KerasTensor as Keras' tensor reference."""
    op = layer.op
    signature = _signature(op)
    if signature is None or any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                                for p in signature.parameters.values()):
        raise CornuFileError(f"Cannot save '{layer.name}' (cornu.ops.{op} on symbolic "
                             "tensors) in Keras' format: Keras records this op's arguments "
                             "differently. Save the model as .cornu.")
    try:
        bound = signature.bind(*node.args, **node.kwargs)
    except TypeError as exc:
        raise CornuFileError(f"Cannot save '{layer.name}' (cornu.ops.{op}): {exc}") from exc
    call = _call_params(op, signature)
    given = list(bound.arguments)
    args = [bound.arguments[n] for n in call if n in bound.arguments]
    if given[:len(args)] != [n for n in call if n in bound.arguments]:
        raise CornuFileError(f"Cannot save '{layer.name}' (cornu.ops.{op}) in Keras' format: "
                             "its arguments do not map to Keras' operation. Save as .cornu.")
    settings = {k: v for k, v in bound.arguments.items() if k not in call}
    config = {"name": layer.name, **{k: encode(v) for k, v in settings.items()}}
    name = _class_name(op)
    return {"module": f"keras.src.ops.{_MODULE_OF.get(op, 'numpy')}", "class_name": name,
            "config": config, "registered_name": name, "name": layer.name,
            "inbound_nodes": [{"args": [encode(a) for a in args], "kwargs": {}}]}


def cornu_op_entry(entry: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Keras' operation entry as an OpLayer entry of cornu's functional config (its calls
    as call_args); an operation cornu.ops does not have is refused by name."""
    class_name = entry.get("class_name")
    op = _ops_by_class().get(class_name) if isinstance(class_name, str) else None
    if op is None:
        raise CornuFileError(f"{where} calls the Keras operation {class_name!r} (module "
                             f"{entry.get('module')!r}), which cornu.ops does not have.")
    config = entry.get("config")
    nodes = entry.get("inbound_nodes")
    if not isinstance(config, dict) or not isinstance(nodes, list) or not nodes:
        raise CornuFileError(f"{where} ({class_name}): an operation needs a config and its "
                             "calls (inbound_nodes).")
    settings = {k: v for k, v in config.items() if k != "name"}
    name = config.get("name") or entry.get("name")
    refs_per_call, call_args = [], []
    for node in nodes:
        if not isinstance(node, dict) or not isinstance(node.get("args"), list) or \
                not isinstance(node.get("kwargs", {}), dict):
            raise CornuFileError(f"{where} ({class_name}): each call holds args and kwargs.")
        refs: list[list] = []
        _collect_refs(node["args"], refs, 0)
        _collect_refs(node.get("kwargs", {}), refs, 0)
        if not refs:
            raise CornuFileError(f"{where} ({class_name}): a call takes no tensor.")
        refs_per_call.append(refs)
        call_args.append({"args": node["args"],
                          "kwargs": {**settings, **node.get("kwargs", {})}})
    return {"class_name": "OpLayer", "config": {"name": name, "op": op},
            "inbound_nodes": refs_per_call, "call_args": call_args}


def _collect_refs(value: Any, refs: list[list], depth: int) -> None:
    if depth > 8:
        return
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        history = value.get("config", {}).get("keras_history") \
            if isinstance(value.get("config"), dict) else None
        if isinstance(history, list) and len(history) == 3:
            refs.append(list(history))
        return
    if isinstance(value, list):
        for v in value:
            _collect_refs(v, refs, depth + 1)
    elif isinstance(value, dict):
        for v in value.values():
            _collect_refs(v, refs, depth + 1)
