"""RNN: runs a cell over the time axis of (batch, time, features) sequences.

Built-in cells (and stacks whose first cell is one) take the fast path: on accelerators the
input product of every time step is one matmul before the loop, and the `lax.scan` over
time carries only the recurrent product. On CPU the input product stays in the step: there
XLA runs the scan's backward pass slower when it must stack the gradient of a precomputed
(time, batch, gates) input than when it accumulates the kernel's gradient step by step
(docs/performance.md). A built-in cell may also run the whole loop as one operation
(`_sequence`): on the CPU an LSTMCell with Keras' default activations does (ops/_lstm.py,
its gradient written out). Cells that users write (`state_size` and `call(inputs, states)`,
as in Keras' guide) run their `call` at each step inside the same scan. `unroll=True` writes
the steps out instead of scanning. A masked step keeps the state and the output.

`stateful=True` (Keras' meaning): the last states of each batch are the initial states of
the next, for a fixed batch size (the model's Input(batch_size=...)). They are variables
the engine carries like BatchNormalization's statistics (non-trainable, updated in the
compiled step, in fit, evaluate, predict and calls, and left in the layer after each), but
not weights (`weights`, `get_weights` are Keras' three arrays); `reset_state()` zeroes
them. That is what Keras 3 does on its TensorFlow backend; its JAX backend carries them
only in layer calls (its compiled steps start every batch from zeros), and so does cornu's
step protocol (models with their own steps, stateful metrics, evaluate with batch
callbacks). fit's validation carries them within the validation pass, from the training
states, and does not write them back.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp

from cornu import ops
from cornu.layers import _nested
from cornu.layers._cell import SAVED_GATES, RecurrentCell
from cornu.layers.base import Layer
from cornu.layers.stacked_rnn_cells import StackedRNNCells, call_cell, check_cell, output_size
from cornu.variables import Variable


def initial_state_of(cell: Any, batch_size: int, dtype: Any) -> Any:
    """A cell's zero state: its get_initial_state, else zeros per state_size."""
    make = getattr(cell, "get_initial_state", None)
    if make is not None:
        return make(batch_size=batch_size)
    size = cell.state_size
    if isinstance(size, list | tuple):
        return [jnp.zeros((batch_size, d), dtype) for d in size]
    return jnp.zeros((batch_size, size), dtype)


def split_inputs(inputs: Any, initial_state: Any) -> tuple[Any, Any]:
    """Keras 2's form `layer([sequences, *initial_state])` (how a saved graph calls it)."""
    if isinstance(inputs, list | tuple):
        if initial_state is not None:
            raise ValueError("Pass the initial state either in the inputs list or as "
                             "initial_state=..., not both.")
        return inputs[0], (list(inputs[1:]) or None)
    return inputs, initial_state


def sequence_shape(shape: Any) -> tuple:
    """The sequences' shape out of the shapes of `[sequences, *initial_state]`."""
    return tuple(shape[0]) if shape and isinstance(shape[0], list | tuple) else tuple(shape)


def project_before_loop() -> bool:
    """Whether the input product of all steps runs before the scan (see the docstring)."""
    return jax.default_backend() != "cpu"


#: on the CPU a step keeps only its cells' named gates for the gradient (keep_gates_only)
KEEP_GATES_ON_CPU = True
_GATES_ONLY = jax.checkpoint_policies.save_only_these_names(SAVED_GATES)


def keep_gates_only(cell: Any) -> bool:
    """Whether a step of `cell` keeps only the values its cells name SAVED_GATES for the
    backward pass (the pre-activation gates), recomputing the activations from them.

    By default the loop keeps every intermediate of a step: an LSTM step stacked 11
    (batch, units) arrays per time step, each written by its own small XLA:CPU operation
    (4 microseconds each, batch 128, 128 units); with only the gates' sum (one (batch, 4 x
    units) array) and the states an LSTM(128) epoch on MNIST rows took 0.74-0.76 s against
    0.81 s (rnn_speed, two cores). On the CPU, for built-in cells that name their gates
    (LSTMCell) and stacks made only of them, where the cell does not run the whole loop
    at once (LSTMCell._sequence: stacks, recurrent dropout, other activations)."""
    if not KEEP_GATES_ON_CPU or jax.default_backend() != "cpu":
        return False
    cells = cell.cells if isinstance(cell, StackedRNNCells) else [cell]
    return all(getattr(c, "keeps_gates", False) for c in cells)


#: time steps written out per loop iteration on an accelerator (see time_unroll)
ACCELERATOR_UNROLL = 32


def time_unroll(steps: int) -> int:
    """Time steps written out per iteration of the scan over time (`unroll=False`).

    On the CPU 1. On an accelerator each iteration of a loop costs a round of kernel
    launches whatever it computes, and a recurrent step is small: on an H200 (batch 128,
    128 units, 28 steps, benchmarks/gpu_followup.sh) an LSTM epoch took 0.670 s scanned,
    0.464 s with 4 steps an iteration, 0.434 s with 14 and 0.352 s written out whole (GRU
    0.648, 0.479, 0.441, 0.412 s), so sequences of up to ACCELERATOR_UNROLL steps are
    written out whole and longer ones that many steps an iteration (the compiled program
    grows with the steps written out, not with the sequence). CORNU_RNN_UNROLL (a whole
    number) overrides; values above `steps` write the whole loop out."""
    setting = os.environ.get("CORNU_RNN_UNROLL")
    if not setting:
        on_cpu = jax.default_backend() == "cpu"
        return 1 if on_cpu else max(1, min(steps, ACCELERATOR_UNROLL))
    try:
        value = int(setting)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError("CORNU_RNN_UNROLL must be a positive whole number of time steps. "
                         f"Received: CORNU_RNN_UNROLL={setting!r}; set it to e.g. 1 or 4, "
                         "or unset it.")
    return min(value, max(steps, 1))


def _flag(value: Any, argument: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{argument} must be True or False. Received: {argument}={value!r}")
    return value


class RNN(Layer):
    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        if isinstance(cell, list | tuple):
            cell = StackedRNNCells(cell)
        check_cell(cell, "cell")
        size = cell.state_size
        if not isinstance(size, int | list | tuple):
            raise ValueError("The cell's state_size must be an integer or a list of integers "
                             f"(one per state). Received: state_size={size!r}")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = _flag(return_sequences, "return_sequences")
        self.return_state = _flag(return_state, "return_state")
        self.go_backwards = _flag(go_backwards, "go_backwards")
        self.stateful = _flag(stateful, "stateful")
        self.unroll = _flag(unroll, "unroll")
        self.zero_output_for_mask = bool(zero_output_for_mask)

    @property
    def state_size(self) -> list:
        size = self.cell.state_size
        return list(size) if isinstance(size, list | tuple) else [size]

    def build(self, sequences_shape, initial_state_shape=None) -> None:
        sequences_shape = sequence_shape(sequences_shape)
        if len(sequences_shape) < 3:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) takes sequences of "
                             "shape (batch, time, features). Received input shape "
                             f"{tuple(sequences_shape)}.")
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build((sequences_shape[0], *sequences_shape[2:]))
            object.__setattr__(self.cell, "built", True)
        if self.stateful:
            batch = sequences_shape[0]
            if batch is None:
                raise ValueError(
                    f"Layer '{self.name}' has stateful=True, which needs a fixed batch size: "
                    "give the model's input one, e.g. Input(shape=..., batch_size=32) (or "
                    f"batch_input_shape). Received input shape {tuple(sequences_shape)}.")
            specs = jax.tree.leaves(jax.eval_shape(lambda: self.get_initial_state(batch)))
            self._carried = tuple(Variable("zeros", shape=z.shape, dtype=z.dtype,
                                           trainable=False, name="rnn_state") for z in specs)

    # -- stateful=True: the last states of one batch start the next ---------------------------
    @property
    def states(self) -> list | None:
        """The carried states (stateful=True, once built), else None."""
        return list(self._carried) if self._carried else None

    def reset_state(self, states: Any = None) -> None:
        """Zero the carried states, or set them to `states` (arrays, one per state)."""
        if not self._carried:
            return
        values = [None] * len(self._carried) if states is None else (
            list(states) if isinstance(states, list | tuple) else [states])
        if len(values) != len(self._carried):
            raise ValueError(f"Layer '{self.name}' has {len(self._carried)} states; reset_state "
                             f"received {len(values)}.")
        for variable, value in zip(self._carried, values, strict=True):
            variable.assign(jnp.zeros(variable.shape, variable.dtype) if value is None
                            else jnp.asarray(value, variable.dtype))

    def reset_states(self, states: Any = None) -> None:
        """Keras 2's name of reset_state."""
        self.reset_state(states)

    def get_initial_state(self, batch_size: int) -> list:
        state = initial_state_of(self.cell, batch_size, self.compute_dtype)
        return list(state) if isinstance(state, list | tuple) else [state]

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        sequences_shape = sequence_shape(sequences_shape)
        batch, length = sequences_shape[0], sequences_shape[1]
        out = output_size(self.cell)
        output = (batch, length, out) if self.return_sequences else (batch, out)
        if not self.return_state:
            return output
        states = [[(batch, d) for d in s] if isinstance(s, list | tuple) else (batch, s)
                  for s in self.state_size]
        return (output, *states)

    def _initial(self, initial_state: Any, batch: int, dtype: Any) -> list:
        zeros = self.get_initial_state(batch)
        if initial_state is None:
            return zeros
        given = list(initial_state) if isinstance(initial_state, list | tuple) else [
            initial_state]
        leaves = jax.tree.leaves(given)
        want = jax.tree.structure(zeros)
        if len(leaves) != want.num_leaves:
            raise ValueError(f"Layer '{self.name}' has {want.num_leaves} state tensors; "
                             f"initial_state holds {len(leaves)}.")
        return jax.tree.unflatten(want, [jnp.asarray(v, dtype) for v in leaves])

    supports_masking = True

    def compute_mask(self, inputs, previous_mask=None):
        """The sequence mask goes on with a sequence output (Keras); states carry none."""
        if previous_mask is None:
            return None
        output_mask = previous_mask if self.return_sequences else None
        if self.return_state:
            return [output_mask, *[None] * len(jax.tree.leaves(self.state_size))]
        return output_mask

    def call(self, sequences, initial_state=None, mask=None, training=False):
        sequences, initial_state = split_inputs(sequences, initial_state)
        cell, batch, steps = self.cell, sequences.shape[0], sequences.shape[1]
        carried = self._carried
        if carried and batch != carried[0].shape[0]:
            raise ValueError(f"Layer '{self.name}' has stateful=True with batch size "
                             f"{carried[0].shape[0]}; it received a batch of {batch}. Call it "
                             "on batches of that size (fit/predict: batch_size=...).")
        if carried and initial_state is None:
            initial_state = [v.value for v in carried]
        states = self._initial(initial_state, batch, sequences.dtype)
        if isinstance(mask, list | tuple):  # [sequence mask, state masks...]
            mask = mask[0]
        if mask is not None:  # (batch, steps): a masked step keeps the state and output
            mask = jnp.asarray(mask, bool).reshape(batch, steps)
        if self.go_backwards:
            sequences = jnp.flip(sequences, axis=1)
            mask = None if mask is None else jnp.flip(mask, axis=1)
        keeps = None if mask is None else jnp.swapaxes(mask, 0, 1)  # (time, batch)
        whole, masks = None, None
        if isinstance(cell, RecurrentCell | StackedRNNCells):  # dropout masks, drawn once
            masks = cell._masks(batch, sequences.dtype, training)
        if isinstance(cell, RecurrentCell) and not self.unroll:  # the whole loop in one op
            zero = (initial_state is None and type(self).get_initial_state is RNN.get_initial_state
                    and type(cell).get_initial_state is RecurrentCell.get_initial_state)
            whole = cell._sequence(jnp.swapaxes(sequences, 0, 1), None if zero else states,
                                   keeps, masks, self.return_sequences)
        if whole is None:
            ys, last, new = self._steps(sequences, states, keeps, masks, training)
        else:
            ys, new = whole
            ys, last = (ys, None) if self.return_sequences else (None, ys)
        states = jax.tree.unflatten(jax.tree.structure(states), jax.tree.leaves(new))
        if carried:
            for variable, value in zip(carried, jax.tree.leaves(states), strict=True):
                variable.assign(value)
        output = jnp.swapaxes(ys, 0, 1) if self.return_sequences else last
        return (output, *states) if self.return_state else output

    def _steps(self, sequences, states, keeps, masks, training):
        """The scan (or, unroll=True, the written-out loop) of one cell step over
        `sequences` (batch, time, features): (time-major outputs or None, last output,
        final states)."""
        cell, batch, steps = self.cell, sequences.shape[0], sequences.shape[1]
        xs = sequences
        if isinstance(cell, RecurrentCell | StackedRNNCells):
            before = project_before_loop()
            xs = cell._project(xs, masks) if before else xs

            def step(x, s):
                x = x if before else cell._project(x, masks)
                if isinstance(cell, StackedRNNCells):
                    return cell._recur(x, s, masks, training)
                return cell._recur(x, s, masks)

            if keep_gates_only(cell):
                step = jax.checkpoint(step, policy=_GATES_ONLY)
        else:
            def step(x, s):
                return call_cell(cell, x, s, training)

        structure = jax.tree.structure(states)

        def body(carry, x_and_keep):
            x, keep = x_and_keep
            output, new = step(x, carry[0])
            new = jax.tree.unflatten(structure, jax.tree.leaves(new))
            if keep is not None:  # masked steps: the previous state and output, as Keras
                keep = keep[:, None]
                new = jax.tree.map(lambda n, o: jnp.where(keep, n, o), new, carry[0])
                output = jnp.where(keep, output, carry[1])
            return (new, output), (output if self.return_sequences else None)

        last = jnp.zeros((batch, output_size(cell)), sequences.dtype)
        xs = jnp.swapaxes(xs, 0, 1)
        if self.unroll:
            carry, outputs = (states, last), []
            for t in range(steps):
                carry, y = body(carry, (xs[t], None if keeps is None else keeps[t]))
                outputs.append(y)
            ys = jnp.stack(outputs) if self.return_sequences else None
        else:
            carry, ys = ops.scan(body, (states, last), (xs, keeps), unroll=time_unroll(steps))
        return ys, carry[1], carry[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards,
                "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask,
                "cell": _nested.serialize(self.cell)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RNN:
        config = dict(config)
        if "input_shape" in config and config["input_shape"] is not None:
            config["input_shape"] = tuple(config["input_shape"])
        return cls(_nested.deserialize(config.pop("cell", None), "cell"), **config)


_BASE = ("name", "trainable", "dtype", "input_shape", "activity_regularizer")
_CELL_ARGUMENTS = frozenset({
    "units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
    "recurrent_initializer", "bias_initializer", "unit_forget_bias", "kernel_regularizer",
    "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
    "bias_constraint", "dropout", "recurrent_dropout", "seed", "reset_after"})


def cell_arguments(cell: Layer) -> dict[str, Any]:
    """The cell's own arguments (for SimpleRNN, LSTM and GRU's flat configs)."""
    return {k: v for k, v in cell.get_config().items() if k not in _BASE}


class CellLayer(RNN):
    """SimpleRNN, LSTM and GRU: an RNN over one built-in cell, configured flat (Keras'
    config holds the cell's arguments, not the cell); the cell's arguments read through."""

    cell_class: type[RecurrentCell]

    def __init__(self, cell_kwargs: dict[str, Any], *, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 **kwargs: Any) -> None:
        kwargs.pop("implementation", None)  # Keras' kernel choice: the same numbers
        self.use_cudnn = kwargs.pop("use_cudnn", "auto")
        kwargs.pop("cell", None)
        cell = self.cell_class(**cell_kwargs, dtype=kwargs.get("dtype"),
                               trainable=kwargs.get("trainable", True),
                               name=f"{_snake(type(self).__name__)}_cell")
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)

    def __getattr__(self, name: str) -> Any:
        cell = self.__dict__.get("cell")
        if cell is not None and name in _CELL_ARGUMENTS:
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["cell"]
        return {**config, **cell_arguments(self.cell)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RNN:
        config = dict(config)
        if "input_shape" in config and config["input_shape"] is not None:
            config["input_shape"] = tuple(config["input_shape"])
        return cls(**config)


def _snake(name: str) -> str:
    return {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}.get(name, name.lower())
