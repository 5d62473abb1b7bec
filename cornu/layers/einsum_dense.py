"""EinsumDense: `activation(einsum(equation, x, kernel) + bias)`, a Dense layer whose
kernel may have any number of axes (the projections of MultiHeadAttention).

`EinsumDense("abc,cde->abde", output_shape=(None, 4, 16), bias_axes="de")` maps
(batch, steps, c) to (batch, steps, 4, 16) with a kernel of shape (c, 4, 16): Keras 3's
arguments, weight shapes and output shapes. `...` stands for axes passed through, on the
left (`...b,bc->...c`) or on the right (`ab...,bc->ac...`).
"""

from __future__ import annotations

import math
import re
from typing import Any

import jax.numpy as jnp

from cornu import activations, constraints, initializers, regularizers
from cornu.layers.base import Layer
from cornu.ops._rows import along_rows, keeps_input_transposed, rows_product


def _analyze(equation: str, bias_axes: str | None, input_shape: tuple,
             partial_output: tuple) -> tuple[list, list | None, list, list, list]:
    """(kernel shape, bias shape or None, output shape, kernel input axes, kernel output
    axes) for an equation, as Keras' EinsumDense reads it."""
    plain = equation.replace("...", "0")
    left = False
    match = re.fullmatch(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", plain)
    if match is None:
        match = re.fullmatch(r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", plain)
        left = match is not None
    if match is None:
        match = re.fullmatch(r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", plain)
    if match is None:
        raise ValueError(f"equation must have the form 'ab,bc->ac', '...b,bc->...c' or "
                         f"'ab...,bc->ac...'. Received: equation={equation!r}")
    in_spec, w_spec, out_spec = match.groups()
    elided = len(input_shape) - len(in_spec)
    if elided < 0:
        raise ValueError(f"The input of rank {len(input_shape)} has fewer axes than the "
                         f"equation {equation!r} names ({in_spec!r}).")
    output = [input_shape[0], *partial_output]
    if elided > 0 and left:
        for i in range(1, elided):
            output.insert(1, input_shape[i])
    elif elided > 0:
        output += list(input_shape[len(input_shape) - elided:])
    shift = elided if left else 0
    in_index = {d: i + shift for i, d in enumerate(in_spec)}
    out_index = {d: i + shift for i, d in enumerate(out_spec)}
    if len(output) != len(out_spec) + elided:
        raise ValueError(f"output_shape={tuple(partial_output)} does not fit the equation "
                         f"{equation!r}: it needs one entry per output axis after the first.")
    for d in in_spec:
        if d in out_index:
            have, want = input_shape[in_index[d]], output[out_index[d]]
            if want is not None and have is not None and want != have:
                raise ValueError(f"Input shape and output shape do not match at shared axis "
                                 f"'{d}' of {equation!r}: input {have}, output {want}.")
            if want is None:
                output[out_index[d]] = have
    for d in out_spec:
        if d not in in_spec and d not in w_spec:
            raise ValueError(f"Output axis '{d}' of {equation!r} is in neither the input "
                             "nor the kernel.")
    kernel, in_axes, out_axes = [], [], []
    for i, d in enumerate(w_spec):
        if d in out_index:
            kernel.append(output[out_index[d]])
            out_axes.append(i)
        elif d in in_index:
            kernel.append(input_shape[in_index[d]])
            in_axes.append(i)
        else:
            raise ValueError(f"Kernel axis '{d}' of {equation!r} is in neither the input "
                             "nor the output.")
    if any(k is None for k in kernel):
        raise ValueError(f"The kernel shape {kernel} of {equation!r} is not fully known: give "
                         "output_shape the sizes of the kernel's output axes.")
    bias = None
    if bias_axes is not None:
        for d in bias_axes:
            if d not in out_spec:
                raise ValueError(f"bias_axes={bias_axes!r}: axis '{d}' is not an output axis "
                                 f"of {equation!r}.")
        first = min(out_spec.find(d) for d in bias_axes)
        bias = [output[out_spec.index(d) + shift] if d in bias_axes else 1
                for d in out_spec[first:]]
        if not left:
            bias += [1] * elided
    return kernel, bias, output, in_axes, out_axes


def _product_form(equation: str) -> int | None:
    """n when `equation` contracts the input's last n axes with the kernel's first n and
    keeps the rest in order (`abc,cde->abde`, `abcd,cde->abe`): a matrix product of the
    operands reshaped, which `rows_product` can take; else None."""
    if "." in equation or "->" not in equation:
        return None
    operands, out = equation.split("->")
    if operands.count(",") != 1:
        return None
    x, kernel = operands.split(",")
    shared = "".join(c for c in x if c in kernel)
    n = len(shared)
    if not n or not x.endswith(shared) or not kernel.startswith(shared) \
            or out != x[:len(x) - n] + kernel[n:]:
        return None
    return n


class EinsumDense(Layer):
    def __init__(
        self,
        equation: str,
        output_shape: Any,
        activation: Any = None,
        bias_axes: str | None = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("lora_rank", None)
        kwargs.pop("lora_alpha", None)
        super().__init__(**kwargs)
        if not isinstance(equation, str) or "->" not in equation or "," not in equation:
            raise ValueError(f"equation must be an einsum string such as 'ab,bc->ac'. "
                             f"Received: equation={equation!r}")
        shape = (output_shape,) if isinstance(output_shape, int) else output_shape
        try:
            shape = tuple(None if d is None else int(d) for d in shape)
        except TypeError:
            raise ValueError(f"output_shape must be an int or a tuple of ints and None. "
                             f"Received: output_shape={output_shape!r}") from None
        if bias_axes is not None and not isinstance(bias_axes, str):
            raise ValueError(f"bias_axes must be a string of output axis letters or None. "
                             f"Received: bias_axes={bias_axes!r}")
        self.equation = equation
        self.partial_output_shape = shape
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = regularizers.get(kernel_regularizer, "kernel_regularizer")
        self.bias_regularizer = regularizers.get(bias_regularizer, "bias_regularizer")
        self.kernel_constraint = constraints.get(kernel_constraint, "kernel_constraint")
        self.bias_constraint = constraints.get(bias_constraint, "bias_constraint")

    def build(self, input_shape) -> None:
        kernel, bias, _, in_axes, out_axes = _analyze(
            self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape)
        init = self.kernel_initializer
        if isinstance(init, initializers.VarianceScaling):
            # Keras counts the fans over the kernel's input and output axes, not as for a
            # convolution kernel: draw a (fan_in, fan_out) matrix and give it the shape
            fans = (math.prod(kernel[a] for a in in_axes),
                    math.prod(kernel[a] for a in out_axes))

            def init(shape, dtype=None, _init=self.kernel_initializer, _fans=fans):
                return jnp.reshape(_init(_fans, dtype), shape)

        self.kernel = self.add_weight(
            shape=tuple(kernel), initializer=init, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, name="kernel")
        self.bias = None if bias is None else self.add_weight(
            shape=tuple(bias), initializer=self.bias_initializer,
            regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias")

    def call(self, inputs):
        kernel, y = self.kernel.value, None
        n = _product_form(self.equation)
        if n is not None and inputs.ndim > n:  # a matrix product of reshaped operands
            lead, inner = inputs.shape[:inputs.ndim - n], math.prod(kernel.shape[:n])
            x, matrix = inputs.reshape(*lead, inner), kernel.reshape(inner, -1)
            if keeps_input_transposed(x, matrix):
                y = rows_product(x, matrix).reshape(*lead, *kernel.shape[n:])
        if y is None:
            y = jnp.einsum(self.equation, inputs, kernel)
        if self.bias is not None:
            y = y + along_rows(self.bias.value, y.shape)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return tuple(_analyze(self.equation, self.bias_axes, tuple(input_shape),
                              self.partial_output_shape)[2])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "equation": self.equation,
            "output_shape": list(self.partial_output_shape),
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }
