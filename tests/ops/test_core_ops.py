"""cornu.ops' core (tensors, control flow), math and linalg ops against NumPy and keras.ops."""

import math

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

from cornu import ops

case = case_maker()
rng = np.random.default_rng(2)
X = rng.standard_normal((3, 4)).astype("float32")
I = rng.integers(0, 4, (3, 4)).astype("int32")  # noqa: E741
A = rng.standard_normal((3, 3)).astype("float32")
SPD = (A @ A.T + 3 * np.eye(3)).astype("float32")
BATCH = np.stack([SPD, SPD + np.eye(3, dtype="float32")])
RHS = rng.standard_normal((3, 2)).astype("float32")
IDS = np.array([0, 0, 2, 1])
erf = np.vectorize(math.erf, otypes=["float32"])


def top_k(x, k):
    order = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    return np.take_along_axis(x, order, -1), order


def scatter_update(x, idx, upd, reduction=None):
    out = x.copy()
    for (i, j), u in zip(idx, upd, strict=True):
        out[i, j] = {None: u, "add": out[i, j] + u, "max": max(out[i, j], u),
                     "min": min(out[i, j], u), "mul": out[i, j] * u}[reduction]
    return out


def segments(reduce, fill):
    def f(data, ids, num_segments):
        return np.stack([reduce(data[ids == s], axis=0) if (ids == s).any()
                         else np.full(data.shape[1:], fill, data.dtype)
                         for s in range(num_segments)])
    return f


CASES = [
    # core
    case("convert_to_tensor", [[1.0, 2.0]], ref=np.array),
    case("convert_to_tensor", X, dtype="float16", ref=lambda x, dtype: x.astype(dtype)),
    case("cast", I, "float32", ref=lambda x, d: x.astype(d)),
    case("cast", X, "int32", ref=lambda x, d: x.astype(d)),
    case("stop_gradient", X, ref=lambda x: x),
    case("slice", X, (1, 0), (2, 3), ref=lambda x, s, n: x[1:3, 0:3]),
    case("slice", X, (1, 2), (-1, -1), ref=lambda x, s, n: x[1:, 2:]),
    case("slice_update", X, (1, 1), np.ones((2, 2), "float32"),
         ref=lambda x, s, u: np.concatenate([x[:1], np.concatenate(
             [x[1:, :1], u, x[1:, 3:]], axis=1)])),
    case("scatter", np.array([[0, 1], [2, 3], [0, 1]]), np.array([1.0, 2.0, 3.0], "float32"),
         (3, 4), ref=lambda i, v, s: np.array([[0, 4, 0, 0], [0] * 4, [0, 0, 0, 2]])),
    *(case("scatter_update", X, np.array([[0, 1], [2, 3]]), np.array([5.0, -5.0], "float32"),
           ref=scatter_update, **({} if r is None else {"reduction": r}))
      for r in (None, "add", "max", "min", "mul")),
    case("unstack", X, ref=list), case("unstack", X, axis=1, ref=lambda x, axis: list(x.T)),
    # math
    case("erf", X, ref=erf), case("erfc", X, ref=lambda x: 1 - erf(x)),
    case("erfinv", np.tanh(X), ref=None), case("rsqrt", np.abs(X) + 0.1,
                                                ref=lambda x: 1 / np.sqrt(x)),
    case("logsumexp", X, ref=lambda x: np.log(np.exp(x).sum())),
    case("logsumexp", X, axis=1, keepdims=True,
         ref=lambda x, **k: np.log(np.exp(x).sum(**k))),
    case("top_k", X, 2, ref=top_k),
    case("in_top_k", np.array([0, 3, 2]), X, 2,
         ref=lambda t, p, k: np.array([(p[i] > p[i, t[i]]).sum() < k for i in range(3)])),
    case("segment_sum", X, IDS[:3], num_segments=3, ref=segments(np.sum, 0)),
    case("segment_max", X.T, IDS, num_segments=4, ref=segments(np.max, -np.inf)),
    case("segment_min", X.T, IDS, num_segments=3, ref=segments(np.min, np.inf)),
    case("segment_prod", X.T, IDS, num_segments=3, ref=segments(np.prod, 1)),
    case("extract_sequences", np.arange(20.0).reshape(2, 10), 4, 3,
         ref=lambda x, n, s: np.stack([x[:, i:i + n] for i in range(0, 7, s)], axis=1)),
    case("logdet", BATCH, ref=lambda x: np.linalg.slogdet(x)[1]),
    # linalg
    case("norm", X, ref=np.linalg.norm), case("norm", X, axis=1, ref=np.linalg.norm),
    case("norm", X, ord=1, axis=0, keepdims=True, ref=np.linalg.norm),
    case("norm", X, ord="fro", ref=np.linalg.norm), case("norm", I, ref=np.linalg.norm),
    case("det", BATCH, ref=np.linalg.det), case("inv", SPD, ref=np.linalg.inv),
    case("solve", SPD, RHS, ref=np.linalg.solve),
    case("solve_triangular", np.tril(SPD), RHS, lower=True,
         ref=lambda a, b, lower: np.linalg.solve(a, b)),
    case("cholesky", BATCH, ref=np.linalg.cholesky),
    case("cholesky", SPD, upper=True, ref=lambda x, upper: np.linalg.cholesky(x).T),
    case("qr", A, ref=None), case("qr", X, mode="complete"),
    case("eigh", SPD), case("svd", X, compute_uv=False, ref=lambda x, compute_uv:
                            np.linalg.svd(x, compute_uv=False)),
    case("lstsq", X.T, X[0], ref=lambda a, b: np.linalg.lstsq(a, b)[0]),
    case("pinv", X, ref=np.linalg.pinv),
]
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
    ours, theirs = result(results[0], c), result(results[1], c)
    if c.name in ("qr", "eigh"):  # the factors' signs are free: compare what they rebuild
        ours, theirs = _rebuild(c.name, ours), _rebuild(c.name, theirs)
    assert_same(ours, theirs, rtol=RTOL, atol=1e-5)


def _rebuild(name, factors):
    a, b = (np.asarray(f) for f in factors)
    return a @ b if name == "qr" else (b * a) @ b.T


def test_qr_and_eigh_factor_their_input():
    q, r = ops.qr(A)
    np.testing.assert_allclose(np.asarray(q @ r), A, atol=1e-5)
    w, v = ops.eigh(SPD)
    np.testing.assert_allclose(np.asarray((v * w[None]) @ v.T), SPD, atol=1e-4)


def test_every_listed_op_is_tested():
    names = {c.name for c in CASES}
    control = {"cond", "switch", "scan", "associative_scan", "map", "vectorized_map",
               "fori_loop", "while_loop", "shape", "dtype", "is_tensor", "convert_to_numpy",
               "custom_gradient"}
    assert set(ops.core.__all__ + ops.math.__all__ + ops.linalg.__all__) - names - control \
        == set()


def test_python_data_gives_32_bit_tensors():
    assert ops.convert_to_tensor([1.5, 2]).dtype == jnp.float32
    assert ops.convert_to_tensor(3).dtype == jnp.int32
    assert ops.convert_to_tensor(True).dtype == jnp.bool_
    t = jnp.ones(2)
    assert ops.convert_to_tensor(t) is t
    assert ops.convert_to_tensor(Wrapped(X)).shape == (3, 4)
    assert ops.rsqrt(I + 1).dtype == jnp.float32  # Keras' JAX backend rejects integers


def test_convert_to_numpy_and_is_tensor():
    out = ops.convert_to_numpy(Wrapped(X))
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert ops.is_tensor(jnp.ones(2)) and not ops.is_tensor(X) and not ops.is_tensor(Wrapped(X))


def test_control_flow_matches_python():
    assert int(ops.cond(jnp.array(True), lambda: 1, lambda: 2)) == 1
    assert int(ops.switch(2, [lambda v: v, lambda v: v + 1, lambda v: v * 10], 3)) == 30
    total, partial = ops.scan(lambda c, x: (c + x, c * x), 0.0, jnp.arange(4.0))
    assert float(total) == 6.0 and partial.tolist() == [0.0, 0.0, 2.0, 9.0]
    assert ops.associative_scan(jnp.add, jnp.arange(5)).tolist() == [0, 1, 3, 6, 10]
    assert ops.map(lambda r: r.sum(), jnp.asarray(X)).shape == (3,)
    assert_same(ops.vectorized_map(lambda r: r * 2, X), X * 2)
    assert int(ops.fori_loop(0, 5, lambda i, acc: acc + i, 0)) == 10


def test_while_loop_unpacks_its_variables_as_keras():
    assert int(ops.while_loop(lambda i: i < 10, lambda i: i + 3, 0)) == 12
    i, s = ops.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s + i), (0, 0))
    assert (int(i), int(s)) == (4, 6)
    i, s = ops.while_loop(lambda i, s: True, lambda i, s: [i + 1, s * 2], [0, 1],
                          maximum_iterations=5)
    assert (int(i), int(s)) == (5, 32)


def test_control_flow_matches_keras(kops):
    def body(i, s):
        return i + 1, s + i

    for ours_, theirs_ in [
        (ops.while_loop(lambda i, s: i < 4, body, (0, 0)),
         kops.while_loop(lambda i, s: i < 4, body, (0, 0))),
        (ops.while_loop(lambda i, s: i < 9, body, [0, 0], maximum_iterations=3),
         kops.while_loop(lambda i, s: i < 9, body, [0, 0], maximum_iterations=3)),
        (ops.scan(lambda c, x: (c + x, c), 1.0, jnp.arange(3.0), reverse=True),
         kops.scan(lambda c, x: (c + x, c), 1.0, jnp.arange(3.0), reverse=True)),
    ]:
        assert_same(ours_, theirs_)


def test_stop_gradient_and_custom_gradient():
    assert float(jax.grad(lambda v: ops.stop_gradient(v) * v)(3.0)) == 3.0

    @ops.custom_gradient
    def clipped(v):
        return v * 2, lambda g: (g * 0.5,)

    assert float(jax.grad(clipped)(1.0)) == 0.5


def test_shape_dtype_and_cast_take_variables():
    w = Wrapped(I)
    assert ops.shape(w) == (3, 4) and ops.dtype(w) == "int32"
    assert ops.cast(w, "float32").dtype == jnp.float32


@pytest.mark.parametrize("call_, message", [
    (lambda: ops.scatter_update(X, [[0, 0]], [1.0], reduction="sum"), "reduction='sum'"),
    (lambda: ops.scan(lambda c, x: (c, x), 0.0, X, unroll=0), "unroll=0"),
    (lambda: ops.convert_to_tensor(X, ragged=True), "ragged=True"),
    (lambda: ops.qr(A, mode="full"), "mode='full'"),
    (lambda: ops.inv(X[0]), r"x.shape=\(4,\)"),
])
def test_bad_arguments_are_named(call_, message):
    with pytest.raises(ValueError, match=message):
        call_()
