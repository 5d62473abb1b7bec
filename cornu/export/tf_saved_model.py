"""format="tf_saved_model": a TensorFlow SavedModel with a `serving_default` signature
(inputs and outputs named as the model names them, batch of any size) that
`tf.saved_model.load` runs and TensorFlow Serving serves.

The forward is converted with `jax.experimental.jax2tf` (native serialization: the
StableHLO module inside one XlaCallModule op); the weights are the SavedModel's variables
(its variables/ folder), not constants in the graph. docs/interop.md says why jax2tf and
not orbax-export."""

from __future__ import annotations

from typing import Any

from cornu.export import _common


def export(model: Any, path: Any, *, verbose: bool) -> dict[str, Any]:
    tf = _common.require("tf_saved_model", "tensorflow")
    from jax.experimental import jax2tf

    specs = _common.input_specs(model)
    outputs = _common.output_specs(model, specs)
    fn, weights = _common.forward(model)

    module = tf.Module()
    # tf.Variables, so the weights are saved as the SavedModel's variables
    module.weights = tf.nest.map_structure(
        lambda w: tf.Variable(w, trainable=False), _as_numpy(weights))
    shapes = [f"({', '.join(str(d) for d in shape)})" for shape in _common.dim_names(specs)]
    converted = jax2tf.convert(fn, polymorphic_shapes=[None, *shapes], with_gradient=False)

    @tf.function(autograph=False, input_signature=[
        tf.TensorSpec(s.shape, s.dtype, name=s.name) for s in specs])
    def serve(*xs):
        outs = converted(module.weights, *xs)
        return {o.name: y for o, y in zip(outputs, outs, strict=True)}

    module.serve = serve
    with _common.atomic_folder(path) as folder:
        try:
            _save(tf, module, str(folder), serve)
        except Exception as exc:
            if _common.layer_in_traceback(model, exc) is None:
                raise
            raise _common.trace_error(model, "tf_saved_model", exc) from exc
    return {"inputs": specs, "outputs": outputs}


def _save(tf: Any, module: Any, folder: str, serve: Any) -> None:
    tf.saved_model.save(module, folder, signatures={"serving_default": serve})


def _as_numpy(weights: Any) -> Any:
    import numpy as np

    trainable, others = weights
    return ([np.asarray(w) for w in trainable], [np.asarray(w) for w in others])
