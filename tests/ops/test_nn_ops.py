"""cornu.ops.nn against NumPy formulas (loops for convolution and pooling) and keras.ops."""

import math

import jax
import numpy as np
import pytest
from ops_checks import (
    assert_same,
    case_maker,
    check_takes_jax_array_objects,
    keras_ops_or_none,
    params,
    result,
    run,
)

from cornu import ops

case = case_maker()
rng = np.random.default_rng(1)
X = (rng.standard_normal((3, 5)) * 3).astype("float32")
LOGITS = rng.standard_normal((4, 3)).astype("float32")
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)
ONEHOT = np.eye(3, dtype="float32")[[0, 2, 1, 2]]
LABELS = np.array([0, 2, 1, 2])
BIN_T = (rng.random((4, 3)) > 0.5).astype("float32")
IMG = rng.standard_normal((2, 7, 6, 4)).astype("float32")
SEQ = rng.standard_normal((2, 9, 4)).astype("float32")
VOL = rng.standard_normal((1, 5, 4, 6, 2)).astype("float32")
K2 = rng.standard_normal((3, 2, 4, 6)).astype("float32")
K2T = K2.transpose(0, 1, 3, 2)  # a conv_transpose kernel (*window, out, in)
Q = rng.standard_normal((2, 5, 4, 8)).astype("float32")
KV = rng.standard_normal((2, 6, 4, 8)).astype("float32")
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def sig(x):
    return 1 / (1 + np.exp(-x))


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def gelu(x, approximate=True):
    if approximate:
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / np.sqrt(2)))


def _same_pad(size, window, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def _patches(x, window, strides, padding, dilation=(1, 1), fill=0.0):
    """(n, out_h, out_w, kh, kw, c) windows of a (n, h, w, c) image."""
    eff = [(w - 1) * d + 1 for w, d in zip(window, dilation, strict=True)]
    if padding.lower() == "same":
        pads = [_same_pad(n, e, s) for n, e, s in zip(x.shape[1:3], eff, strides, strict=True)]
        x = np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=fill)
    out = [(n - e) // s + 1 for n, e, s in zip(x.shape[1:3], eff, strides, strict=True)]
    res = np.empty((x.shape[0], *out, *window, x.shape[3]), x.dtype)
    for i in range(out[0]):
        for j in range(out[1]):
            r, c = i * strides[0], j * strides[1]
            res[:, i, j] = x[:, r:r + eff[0]:dilation[0], c:c + eff[1]:dilation[1]]
    return res


def np_conv2d(x, k, strides=1, padding="valid", dilation_rate=1):
    s, d = (strides,) * 2 if isinstance(strides, int) else strides, (dilation_rate,) * 2
    p = _patches(x, k.shape[:2], s, padding, d)
    groups, cin = x.shape[-1] // k.shape[2], k.shape[2]
    per = k.shape[3] // groups
    return np.concatenate([
        np.einsum("nijhwc,hwco->nijo", p[..., g * cin:(g + 1) * cin], k[..., g * per:(g + 1) * per])
        for g in range(groups)], axis=-1)


def np_depthwise2d(x, k, strides=1, padding="valid"):
    return np_conv2d(x, k.reshape(*k.shape[:2], 1, -1), strides, padding)


def np_pool(reduce, fill):
    def pool(x, pool_size, strides=None, padding="valid"):
        size = (pool_size,) * 2 if isinstance(pool_size, int) else pool_size
        step = size if strides is None else ((strides,) * 2 if isinstance(strides, int)
                                             else strides)
        return reduce(_patches(x, size, step, padding, fill=fill), axis=(3, 4))
    return pool


def np_attention(q, k, v, bias=None, mask=None, scale=None, is_causal=False):
    logits = np.einsum("btnh,bsnh->bnts", q, k) * (scale or 1 / np.sqrt(q.shape[-1]))
    if bias is not None:
        logits = logits + bias
    keep = np.ones(logits.shape, bool)
    if mask is not None:
        keep &= mask
    if is_causal:
        keep &= np.tril(np.ones(logits.shape[-2:], bool))
    return np.einsum("bnts,bsnh->btnh", softmax(np.where(keep, logits, -1e30)), v)


def xent(t, p, axis=-1):
    p = np.clip(p / p.sum(axis, keepdims=True), 1e-7, 1 - 1e-7)
    return -(t * np.log(p)).sum(axis)


ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0), "relu6": lambda x: np.clip(x, 0, 6),
    "sigmoid": sig, "log_sigmoid": lambda x: np.log(sig(x)),
    "softplus": lambda x: np.log1p(np.exp(x)), "softsign": lambda x: x / (1 + np.abs(x)),
    "silu": lambda x: x * sig(x), "swish": lambda x: x * sig(x),
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "hard_silu": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "hard_swish": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "hard_tanh": lambda x: np.clip(x, -1, 1), "tanh": np.tanh,
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x), "elu": lambda x: np.where(
        x > 0, x, np.expm1(x)), "celu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "gelu": gelu, "squareplus": lambda x: (x + np.sqrt(x * x + 4)) / 2,
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0),
    "softmax": softmax, "log_softmax": lambda x: np.log(softmax(x)),
}

CASES = [
    *(case(n, X, ref=f) for n, f in ACTIVATIONS.items()),
    case("leaky_relu", X, negative_slope=0.1, ref=lambda x, negative_slope: np.where(
        x > 0, x, negative_slope * x)),
    case("elu", X, alpha=0.5, ref=lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(x))),
    case("gelu", X, approximate=False, ref=gelu),
    case("glu", X[:, :4], ref=lambda x: x[:, :2] * sig(x[:, 2:])),
    case("threshold", X, 0.5, -1.0, ref=lambda x, t, v: np.where(x > t, x, v)),
    case("softmax", X, axis=0, ref=softmax), case("softmax", IMG, axis=(1, 2), ref=softmax),
    case("log_softmax", X, axis=0, ref=lambda x, axis: np.log(softmax(x, axis))),
    case("relu", np.arange(-2, 3)),
    # encodings
    case("one_hot", LABELS, 3, ref=lambda x, n: np.eye(n)[x]),
    case("one_hot", np.array([[0, 5], [-1, 1]]), 4, axis=0, dtype="int32",
         ref=lambda x, n, axis, dtype: np.moveaxis((x[..., None] == np.arange(n)), -1, 0)),
    case("multi_hot", np.array([[0, 2], [1, 1]]), 3,
         ref=lambda x, n: np.array([[1, 0, 1], [0, 1, 0]])),
    case("multi_hot", np.array([0, 2]), num_classes=4,
         ref=lambda x, num_classes: np.array([1, 0, 1, 0])),
    # losses
    case("binary_crossentropy", BIN_T, PROBS, ref=lambda t, p: -(t * np.log(p) + (
        1 - t) * np.log(1 - p))),
    case("binary_crossentropy", BIN_T, LOGITS, from_logits=True, ref=lambda t, z, **_: -(
        t * np.log(sig(z)) + (1 - t) * np.log(1 - sig(z)))),
    case("categorical_crossentropy", ONEHOT, PROBS, ref=xent),
    case("categorical_crossentropy", ONEHOT, LOGITS, from_logits=True,
         ref=lambda t, z, **_: xent(t, softmax(z))),
    case("categorical_crossentropy", ONEHOT.T, PROBS.T, axis=0, ref=xent),
    case("sparse_categorical_crossentropy", LABELS, PROBS,
         ref=lambda t, p: xent(np.eye(3)[t], p)),
    case("sparse_categorical_crossentropy", LABELS[:, None], LOGITS, from_logits=True,
         ref=lambda t, z, **_: xent(np.eye(3)[t[:, 0]], softmax(z))),
    # normalization
    case("moments", IMG, (0, 1, 2), ref=lambda x, a: (x.mean(a), x.var(a))),
    case("moments", X, [1], keepdims=True,
         ref=lambda x, a, keepdims: (x.mean(1, keepdims=True), x.var(1, keepdims=True))),
    case("batch_normalization", IMG, IMG.mean((0, 1, 2)), IMG.var((0, 1, 2)), -1,
         offset=np.arange(4.0, dtype="float32"), scale=np.full(4, 2.0, "float32"),
         ref=lambda x, m, v, a, offset, scale: (x - m) / np.sqrt(v + 1e-3) * scale + offset),
    case("batch_normalization", IMG, IMG.mean((0, 2, 3)), IMG.var((0, 2, 3)), 1,
         epsilon=0.1, ref=lambda x, m, v, a, epsilon: (x - m[:, None, None]) / np.sqrt(
             v[:, None, None] + epsilon)),
    case("normalize", X, ref=lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)),
    case("normalize", X, axis=0, order=1,
         ref=lambda x, axis, order: x / np.abs(x).sum(0, keepdims=True)),
    case("rms_normalization", X, np.arange(5.0, dtype="float32"), ref=lambda x, s: x / np.sqrt(
        (x * x).mean(-1, keepdims=True) + 1e-7) * s),
    case("layer_normalization", X, np.full(5, 2.0, "float32"), np.ones(5, "float32"),
         ref=lambda x, g, b: (x - x.mean(-1, keepdims=True)) / np.sqrt(
             x.var(-1, keepdims=True) + 1e-7) * g + b),
    case("psnr", PROBS, PROBS + 0.01, 1.0, ref=lambda a, b, m: 20 * np.log10(m) - 10 * np.log10(
        ((a - b) ** 2).mean())),
    # convolution and pooling
    case("conv", IMG, K2, ref=np_conv2d),
    case("conv", IMG, K2, strides=2, padding="same", ref=np_conv2d),
    case("conv", IMG, K2, padding="SAME", dilation_rate=2, ref=np_conv2d),
    case("conv", IMG, K2[:, :, :2], strides=(1, 2), ref=np_conv2d),
    case("conv", SEQ, K2[0], strides=2, padding="same"),
    case("conv", VOL, np.ones((2, 3, 2, 2, 3), "float32"), padding="same"),
    case("conv", IMG.transpose(0, 3, 1, 2), K2, data_format="channels_first"),
    case("depthwise_conv", IMG, K2[..., :2], ref=np_depthwise2d),
    case("depthwise_conv", IMG, K2[..., :2], strides=2, padding="same", ref=np_depthwise2d),
    case("depthwise_conv", SEQ, K2[0, ..., :3], dilation_rate=2),
    case("separable_conv", IMG, K2[..., :2], rng.standard_normal((1, 1, 8, 3)).astype("float32"),
         padding="same", ref=lambda x, dk, pk, padding: np_conv2d(
             np_depthwise2d(x, dk, padding=padding), pk)),
    *(case("conv_transpose", IMG, K2T, strides=s, padding=p, output_padding=op)
      for s, p, op in [(1, "valid", None), (2, "valid", None), (2, "same", None),
                       (3, "same", None), (2, "valid", 1), (2, "same", 1)]),
    case("conv_transpose", SEQ, K2T[0], strides=2, dilation_rate=2),
    case("conv_transpose", VOL, np.ones((2, 3, 2, 3, 2), "float32"), strides=2, padding="same"),
    case("conv_transpose", IMG.transpose(0, 3, 1, 2), K2T, strides=2,
         data_format="channels_first"),
    case("max_pool", IMG, 2, ref=np_pool(np.max, -np.inf)),
    case("max_pool", IMG, (3, 2), strides=2, padding="same", ref=np_pool(np.max, -np.inf)),
    case("average_pool", IMG, 2, ref=np_pool(np.mean, np.nan)),
    case("average_pool", IMG, 3, strides=(2, 1), padding="same",
         ref=np_pool(np.nanmean, np.nan)),
    case("max_pool", SEQ, 3, strides=1, padding="same"),
    case("average_pool", VOL, 2, padding="same"),
    case("average_pool", IMG.transpose(0, 3, 1, 2), 2, data_format="channels_first"),
    # attention
    case("dot_product_attention", Q, KV, KV, ref=np_attention),
    case("dot_product_attention", Q, KV, KV, is_causal=True, scale=0.5, ref=np_attention),
    case("dot_product_attention", Q, KV, KV, bias=rng.standard_normal((2, 4, 5, 6)).astype(
        "float32"), mask=rng.random((2, 1, 5, 6)) > 0.3, ref=np_attention),
    case("dot_product_attention", Q, KV[:, :, :2], KV[:, :, :2]),
]
for c in CASES:
    if c.name.endswith("_pool"):
        c.keras = True
        if "strides" not in c.kwargs:  # Keras 3.15's JAX pooling fails on strides=None
            c.keras_kwargs = {**c.kwargs, "strides": c.args[1]}
    if "conv" in c.name or "crossentropy" in c.name or c.name == "dot_product_attention":
        c.keras = True
KERAS_CASES = [c for c in CASES if c.keras]
RTOL = 1e-4


@pytest.fixture(scope="module")
def results():
    """(ours, Keras') results of all cases, computed in one program."""
    return run(ops, CASES, keras_ops_or_none())


@pytest.mark.parametrize("c", params(CASES))
def test_matches_numpy_and_takes_variables(c, results):
    """The NumPy formula's result, where the case has one; and the same computation when
    every array comes as an object with only __jax_array__, as cornu.Variable."""
    got = result(results[0], c)
    if c.ref is not None:
        assert_same(got, c.ref(*c.args, **c.kwargs), dtype=False, rtol=RTOL, atol=1e-5)
    check_takes_jax_array_objects(ops, c)


@pytest.mark.parametrize("c", params(KERAS_CASES))
def test_matches_keras(c, results, kops):
    assert_same(result(results[0], c), result(results[1], c), rtol=RTOL, atol=1e-5)


def test_every_listed_op_is_tested():
    assert set(ops.nn.__all__) - {c.name for c in CASES} == set()


@pytest.mark.parametrize("strides, padding, size", [(1, "valid", 7), (2, "valid", 7),
                                                    (3, "valid", 8), (1, "same", 7)])
def test_conv_transpose_is_the_gradient_of_conv(strides, padding, size):
    x = IMG[:, :size]
    y, pullback = jax.vjp(lambda v: ops.conv(v, K2, strides, padding), x)
    extra = None
    if padding == "valid":  # the rows and columns that the strided conv left out at the end
        extra = tuple(n - (m - 1) * strides - k
                      for n, m, k in zip(x.shape[1:3], y.shape[1:3], K2.shape[:2], strict=True))
    out = ops.conv_transpose(y, K2, strides, padding, output_padding=extra)
    assert_same(out, pullback(y)[0], rtol=1e-4, atol=1e-4)


def test_ops_run_under_jit():
    def f(x, k):
        h = ops.relu(ops.conv(x, k, padding="same"))
        return ops.softmax(ops.mean(ops.max_pool(h, 2), axis=(1, 2)))

    assert_same(jax.jit(f)(IMG, K2), f(IMG, K2), rtol=1e-5)


def test_softmax_over_a_single_class_warns_as_keras():
    with pytest.warns(UserWarning, match="size 1"):
        ops.softmax(np.ones((2, 1)))


@pytest.mark.parametrize("call_, message", [
    (lambda: ops.conv(IMG, K2, padding="foo"), "padding='foo'"),
    (lambda: ops.max_pool(IMG, 2, padding="causal"), "padding='causal'"),
    (lambda: ops.conv(IMG, K2, data_format="NHWC"), "data_format='NHWC'"),
    (lambda: ops.conv(IMG, K2, strides=(1, 2, 3)), "strides=(1, 2, 3)"),
    (lambda: ops.average_pool(IMG, 0), "pool_size=0"),
    (lambda: ops.conv(IMG, K2[:, :, :3]), "kernel's input channels"),
    (lambda: ops.conv(X, K2), "inputs.shape=(3, 5)"),
    (lambda: ops.depthwise_conv(IMG, K2[:, :, :2]), "input channels"),
    (lambda: ops.one_hot(LABELS, 3, sparse=True), "sparse=True"),
    (lambda: ops.multi_hot(LABELS), "num_classes=None"),
    (lambda: ops.normalize(X, order=0), "order=0"),
    (lambda: ops.categorical_crossentropy(ONEHOT, PROBS[:3]), "output.shape=(3, 3)"),
    (lambda: ops.sparse_categorical_crossentropy(ONEHOT, PROBS), "target.shape=(4, 3)"),
    (lambda: ops.moments(X, 0, synchronized=True), "synchronized=True"),
    (lambda: ops.dot_product_attention(X, X, X), "query.shape=(3, 5)"),
])
def test_bad_arguments_are_named(call_, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_()
