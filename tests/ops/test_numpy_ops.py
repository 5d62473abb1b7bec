"""cornu.ops' NumPy-like ops against NumPy formulas and against keras.ops (JAX backend)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ops_checks import (
    Wrapped,
    assert_same,
    case_maker,
    check_takes_jax_array_objects,
    keras_ops_or_none,
    params,
    result,
    run,
)

import cornu
from cornu import ops

case = case_maker()
rng = np.random.default_rng(0)
X = rng.standard_normal((3, 4)).astype("float32")
Y = rng.standard_normal((3, 4)).astype("float32")
Y0 = np.where(np.abs(Y) < 0.5, 0, Y).astype("float32")
POS = np.abs(X) + 0.5
UNIT = np.tanh(X) * 0.9
NAN = np.array([1.0, np.nan, np.inf, -np.inf, -2.5], "float32")
I = rng.integers(-5, 6, (3, 4)).astype("int32")  # noqa: E741
J = rng.integers(1, 4, (3, 4)).astype("int32")
B = X > 0
V = rng.standard_normal(5).astype("float32")
M = rng.standard_normal((4, 4)).astype("float32")
T3 = rng.standard_normal((2, 3, 4)).astype("float32")

UNARY = {
    "abs": X, "absolute": X, "negative": X, "sign": X, "square": X, "reciprocal": POS,
    "sqrt": POS, "cbrt": X, "exp": X, "exp2": X, "expm1": X, "log": POS, "log1p": POS,
    "log2": POS, "log10": POS, "sin": X, "cos": X, "tan": UNIT, "arcsin": UNIT,
    "arccos": UNIT, "arctan": X, "sinh": X, "cosh": X, "tanh": X, "arcsinh": X,
    "arccosh": POS + 1, "arctanh": UNIT, "deg2rad": X, "rad2deg": X, "floor": X * 3,
    "ceil": X * 3, "trunc": X * 3, "round": X * 3, "isnan": NAN, "isinf": NAN,
    "isfinite": NAN, "signbit": X, "logical_not": B, "real": X, "imag": X, "conj": X,
}
BINARY = {
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "mod", "fmod",
    "maximum", "minimum", "arctan2", "hypot", "equal", "not_equal", "greater",
    "greater_equal", "less", "less_equal", "logical_and", "logical_or", "logical_xor",
    "logaddexp",
}
REDUCE = ["sum", "mean", "max", "min", "amax", "amin", "prod", "std", "var", "all", "any",
          "ptp", "median"]


def _np(name):
    return getattr(np, name)


INT_UNARY = ["abs", "sqrt", "exp", "floor", "round"]
INT_BINARY = ["add", "divide", "floor_divide", "mod", "logaddexp"]
SCALAR_BINARY = ["add", "divide", "greater"]

CASES = [
    *(case(n, x, ref=_np(n)) for n, x in UNARY.items()),
    *(case(n, J, keras=True) for n in INT_UNARY),
    *(case(n, X, Y, ref=_np(n)) for n in sorted(BINARY)),
    *(case(n, I, J, ref=_np(n), keras=True) for n in INT_BINARY),
    *(case(n, X, 2.0, ref=_np(n), keras=True) for n in SCALAR_BINARY),
    *(case(n, I, 2, keras=True) for n in SCALAR_BINARY),
    case("power", POS, Y, ref=np.power), case("power", J, 2), case("power", I, 2.0),
    *(case(n, I, J, ref=_np(n)) for n in ("bitwise_and", "bitwise_or", "bitwise_xor")),
    case("bitwise_not", I, ref=np.invert), case("bitwise_invert", I, ref=np.invert),
    case("conjugate", X, ref=np.conjugate),
    case("divide_no_nan", X, Y0,
         ref=lambda a, b: np.where(b == 0, 0, a / np.where(b == 0, 1, b))),
    *(case(n, X, axis=1, keepdims=True, ref=_np(n)) for n in REDUCE),
    *(case(n, X, ref=_np(n)) for n in ("sum", "mean", "max", "prod", "all")),
    *(case(n, I, axis=0, ref=_np(n)) for n in ("sum", "mean", "std", "var", "max", "median")),
    case("sum", T3, axis=(0, 2), ref=np.sum),
    case("mean", T3, axis=[0, 2], ref=lambda x, axis: np.mean(x, axis=tuple(axis))),
    *(case(n, X, axis=axis, keepdims=k, ref=_np(n)) for n in ("argmax", "argmin")
      for axis, k in ((None, False), (0, True))),
    case("max", X, axis=1, initial=0.5, ref=lambda x, **k: np.max(x, **k)),
    case("count_nonzero", I, ref=np.count_nonzero),
    case("count_nonzero", I, axis=0, ref=np.count_nonzero),
    *(case(n, X, axis=axis, ref=_np(n)) for n in ("cumsum", "cumprod") for axis in (None, 1)),
    case("cumsum", I, axis=0, dtype="float32", ref=np.cumsum),
    case("diff", X, ref=np.diff), case("diff", X, n=2, axis=0, ref=np.diff),
    case("average", X, axis=0, ref=np.average),
    case("average", X, axis=1, weights=POS[0], ref=np.average),
    case("quantile", X, 0.3, ref=np.quantile),
    case("quantile", X, np.array([0.2, 0.8]), axis=1, ref=np.quantile),
    case("percentile", X, 50.0, axis=0, ref=np.percentile),
    # products
    case("matmul", X, M, ref=np.matmul), case("matmul", T3, M, ref=np.matmul),
    case("dot", V, V, ref=np.dot), case("dot", X, M, ref=np.dot), case("dot", X, 2.0),
    case("tensordot", T3, M, axes=1, ref=np.tensordot),
    case("tensordot", X, Y, axes=2, ref=np.tensordot),
    case("tensordot", X, M, axes=([1], [0]), ref=np.tensordot),
    case("einsum", "ij,jk->ik", X, M, ref=np.einsum),
    case("einsum", "bij->bj", T3, ref=np.einsum),
    case("outer", V, V, ref=np.outer), case("inner", X, Y, ref=np.inner),
    case("vdot", V, V, ref=np.vdot), case("trace", M, ref=np.trace),
    case("trace", T3, offset=1, axis1=1, axis2=2, ref=np.trace),
    # element-wise with options
    case("clip", X, -0.5, 0.5, ref=np.clip), case("clip", I, -1, 2, ref=np.clip),
    case("clip", B, 0, 1, keras=True),
    case("nan_to_num", NAN), case("nan_to_num", NAN, nan=1.0, posinf=2.0, neginf=-2.0,
                                  ref=np.nan_to_num),
    case("round", X * 10, decimals=1, ref=np.round),
    case("round", I * 37, decimals=-1, keras=True),
    case("where", B, X, Y, ref=np.where), case("where", B, X, 0.0, ref=np.where),
    case("where", B, ref=np.where, eager=True),
    case("isclose", X, X + 1e-7, ref=np.isclose),
    case("allclose", X, X + 1e-3, ref=np.allclose),
    # creation
    case("array", [[1, 2], [3, 4]], ref=np.array), case("array", X, dtype="float16"),
    case("zeros", (2, 3)), case("ones", (2, 3)), case("ones", (2,), dtype="int32"),
    case("full", (2, 3), 3), case("full", (2,), 1.5, dtype="float16", keras=True),
    case("empty", (2,)),
    case("zeros_like", I), case("ones_like", X, dtype="int32"), case("full_like", X, 2),
    case("full_like", I, 2.7), case("empty_like", X),
    case("eye", 3, ref=np.eye), case("eye", 3, 4, k=1, ref=np.eye),
    case("identity", 3, ref=np.identity), case("tri", 3, 4, k=-1, ref=np.tri),
    case("arange", 5, ref=np.arange), case("arange", 1, 7, 2, ref=np.arange),
    case("arange", 0.0, 1.0, 0.25, ref=np.arange, keras=True),
    case("arange", 3, dtype="float32"),
    case("linspace", 0, 1, 5, ref=np.linspace),
    case("linspace", 0.0, 1.0, 4, endpoint=False, ref=np.linspace),
    case("logspace", 0, 2, 3, ref=np.logspace),
    case("meshgrid", V, V[:3], ref=np.meshgrid),
    case("meshgrid", V, V[:3], indexing="ij", ref=np.meshgrid),
    # shape and layout
    case("reshape", X, (4, 3), ref=np.reshape), case("reshape", X, (-1,), ref=np.reshape),
    case("ravel", X, ref=np.ravel), case("transpose", X, ref=np.transpose),
    case("transpose", T3, (1, 0, 2), ref=np.transpose),
    case("swapaxes", T3, 0, 2, ref=np.swapaxes), case("moveaxis", T3, 0, -1, ref=np.moveaxis),
    case("expand_dims", X, 1, ref=np.expand_dims),
    case("expand_dims", X, (0, 3), ref=np.expand_dims),
    case("squeeze", X[None], ref=np.squeeze), case("squeeze", X[:, :1], axis=1, ref=np.squeeze),
    case("broadcast_to", V, (3, 5), ref=np.broadcast_to),
    case("concatenate", [X, Y], axis=1, ref=np.concatenate),
    case("append", X, Y, axis=0, ref=np.append), case("stack", [X, Y], axis=1, ref=np.stack),
    case("vstack", [X, Y], ref=np.vstack), case("hstack", [X, Y], ref=np.hstack),
    case("split", X, 2, axis=1, ref=np.split), case("split", X, [1], ref=np.split),
    case("array_split", X, 3, axis=1, ref=np.array_split),
    case("tile", X, (2, 1), ref=np.tile), case("repeat", X, 2, axis=1, ref=np.repeat),
    case("repeat", X, 2, ref=np.repeat), case("flip", X, ref=np.flip),
    case("flip", X, 1, ref=np.flip), case("roll", X, 1, ref=np.roll),
    case("roll", X, (1, 2), axis=(0, 1), ref=np.roll),
    case("pad", X, 1, ref=np.pad), case("pad", X, ((1, 0), (0, 2)), constant_values=3.0,
                                        ref=np.pad),
    *(case("pad", X, 2, mode=m, ref=lambda x, w, mode: np.pad(x, w, mode=mode))
      for m in ("reflect", "edge", "symmetric", "wrap")),
    case("tril", M, ref=np.tril), case("tril", M, k=-1, ref=np.tril),
    case("triu", M, 1, ref=np.triu), case("diag", V, ref=np.diag), case("diag", M, ref=np.diag),
    case("diag", M, k=1, ref=np.diag),
    case("diagonal", T3, axis1=1, axis2=2, ref=np.diagonal),
    case("size", X, ref=np.size, eager=True), case("ndim", T3, ref=np.ndim, eager=True),
    # indexing, sorting, searching
    case("take", X, np.array([0, 2]), axis=1, ref=np.take),
    case("take", X, np.array([[1, 5], [11, 0]]), ref=np.take),
    case("take_along_axis", X, np.argsort(X, axis=1), axis=1, ref=np.take_along_axis),
    case("sort", X, ref=np.sort), case("sort", X, axis=0, ref=np.sort),
    case("argsort", V, ref=np.argsort), case("argsort", X, axis=0, ref=np.argsort),
    case("argpartition", V, 2), case("nonzero", B, ref=np.nonzero, eager=True),
    case("searchsorted", np.sort(V), X.ravel(), ref=np.searchsorted),
    case("searchsorted", np.sort(V), V, side="right", ref=np.searchsorted),
    case("digitize", X, np.array([-1.0, 0.0, 1.0], "float32"), ref=np.digitize),
    case("isin", I, np.array([1, 2, 3]), ref=np.isin),
    case("select", [X > 0.5, X < -1], [X, Y], ref=np.select),
    case("unique", I, ref=np.unique, eager=True),
    case("unique", I, return_counts=True, return_index=True, size=12, fill_value=-9,
         keras=True),  # with a size, unique works under jit
    case("bincount", J.ravel(), weights=X.ravel(), minlength=6, ref=np.bincount,
         eager=True),
    case("get_item", X, (slice(None), 1), ref=lambda x, k: x[k]),
]
NAMES = sorted({c.name for c in CASES})
KERAS_CASES = [c for c in CASES if c.keras]
RTOL = 2e-5


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
    assert set(ops.numpy.__all__) - set(NAMES) == set()


def test_the_flat_namespace_holds_each_group():
    for group in (ops.numpy, ops.nn, ops.math, ops.core, ops.linalg):
        for name in group.__all__:
            assert hasattr(ops, name), name
    # the flat names are the groups' functions, wrapped to accept symbolic tensors
    assert ops.tanh.__wrapped__ is ops.numpy.tanh
    assert ops.norm.__wrapped__ is ops.linalg.norm
    assert cornu.ops is ops


@pytest.mark.parametrize("make, expected", [
    (lambda: ops.convert_to_tensor([1.5, 2.0]), "float32"),
    (lambda: ops.convert_to_tensor([1, 2]), "int32"),
    (lambda: ops.convert_to_tensor(np.ones(2, "float16")), "float16"),
    (lambda: ops.cast(X, "float16"), "float16"),
    (lambda: ops.cast(X, float), "float32"),
    (lambda: ops.cast(X, int), "int32"),
    (lambda: ops.cast(X, jnp.bfloat16), "bfloat16"),
    (lambda: ops.mean(I), "float32"),
    (lambda: ops.mean(X.astype("float16")), "float16"),
    (lambda: ops.var(I), "float32"),
    (lambda: ops.std(B), "float32"),
    (lambda: ops.sqrt(I), "float32"),
    (lambda: ops.floor(I), "float32"),
    (lambda: ops.round(I), "int32"),
    (lambda: ops.count_nonzero(X), "int32"),
    (lambda: ops.full((2,), 3), "float32"),
    (lambda: ops.zeros(3), "float32"),
    (lambda: ops.arange(3), "int32"),
    (lambda: ops.arange(3.0), "float32"),
    (lambda: ops.add(X.astype("float16"), 1.0), "float16"),
    (lambda: ops.multiply(I, 2.0), "float32"),
    (lambda: ops.clip(B, 0, 1), "int32"),
])
def test_dtype_rules(make, expected):
    assert ops.dtype(make()) == expected


def test_mean_of_float16_is_accurate():
    """Computed in float32: a float16 sum of 10,000 ones would stop at 2048."""
    assert float(ops.mean(np.ones(10_000, "float16"))) == 1.0


def test_shape_and_dtype_of_any_array_like():
    assert ops.shape(X) == (3, 4) and isinstance(ops.shape(jnp.ones((2, 1))), tuple)
    assert ops.shape(Wrapped(X)) == (3, 4) and ops.shape([[1, 2]]) == (1, 2)
    assert ops.dtype(Wrapped(I)) == "int32" and ops.dtype(2.0) == "float32"
    assert ops.ndim(Wrapped(T3)) == 3 and ops.size(Wrapped(X)) == 12


def test_ops_run_under_jit():
    def f(x, y):
        h = ops.matmul(ops.reshape(x, (4, 3)), ops.transpose(y[:, :3]))
        return ops.sum(ops.where(h > 0, ops.square(h), ops.exp(h)), axis=0)

    assert_same(jax.jit(f)(X, Y), f(X, Y))


@pytest.mark.parametrize("call_, message", [
    (lambda: ops.pad(X, 1, mode="foo"), "mode='foo'"),
    (lambda: ops.pad(X, 1, mode="edge", constant_values=2), "constant_values=2"),
    (lambda: ops.where(B, X), "x2=None"),
    (lambda: ops.meshgrid(V, indexing="yx"), "indexing='yx'"),
    (lambda: ops.searchsorted(V, V, side="middle"), "side='middle'"),
    (lambda: ops.searchsorted(X, V), "sorted_sequence.shape=(3, 4)"),
    (lambda: ops.cast(X, "floaty"), "dtype='floaty'"),
    (lambda: ops.convert_to_tensor(X, sparse=True), "sparse=True"),
])
def test_bad_arguments_are_named(call_, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_()
