"""``conv2d`` (``T.nnet.conv2d`` and the older ``T.nnet.conv.conv2d``) against SciPy's
``convolve2d`` / ``correlate2d`` per (filter, channel) pair: every border mode, strides,
dilation, flipping, groups, both im2col layouts, float32 and float64; gradients of the
forward op and of its two gradient ops with ``verify_grad``; ``infer_shape``; errors."""

import numpy as np
import pytest
from scipy.signal import convolve2d, correlate2d

import theanine
import theanine.tensor as T
from theanine.tensor.nnet import conv as conv_module
from theanine.tensor.nnet.conv import (
    Conv2dGradInputs,
    Conv2dGradWeights,
    conv2d,
    conv2d_grad_wrt_inputs,
    conv2d_grad_wrt_weights,
    conv2d_transpose,
    get_conv_output_shape,
)
from tests.ops.harness import FLOATS, check_grad, check_infer_shape, check_op, rand


def ref_conv(x, w, border_mode="valid", subsample=(1, 1), filter_flip=True,
             filter_dilation=(1, 1), num_groups=1):
    """Theano's conv2d, one SciPy 2-D convolution per (example, filter, channel)."""
    f, cg, kh, kw = w.shape
    dh, dw = filter_dilation
    wd = np.zeros((f, cg, (kh - 1) * dh + 1, (kw - 1) * dw + 1), w.dtype)
    wd[:, :, ::dh, ::dw] = w
    span = wd.shape[2:]
    if border_mode == "valid":
        pads = (0, 0)
    elif border_mode == "full":
        pads = (span[0] - 1, span[1] - 1)
    elif border_mode == "half":
        pads = (span[0] // 2, span[1] // 2)
    else:
        pads = (border_mode, border_mode) if isinstance(border_mode, int) else border_mode
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[0]), (pads[1], pads[1])))
    oh = (xp.shape[2] - span[0]) // subsample[0] + 1
    ow = (xp.shape[3] - span[1]) // subsample[1] + 1
    out = np.zeros((x.shape[0], f, oh, ow), np.result_type(x, w))
    op = convolve2d if filter_flip else correlate2d
    fg = f // num_groups
    for n in range(x.shape[0]):
        for j in range(f):
            g = j // fg
            for c in range(cg):
                full = op(xp[n, g * cg + c], wd[j, c], mode="valid")
                out[n, j] += full[::subsample[0], ::subsample[1]]
    return out


def _tol(dtype):
    return {"rtol": 1e-4, "atol": 1e-4} if dtype == "float32" else {}


@pytest.fixture(params=["one product", "per example"])
def layout(request, monkeypatch):
    """Run a test with each im2col layout (the choice depends on the output size)."""
    monkeypatch.setattr(conv_module, "_PER_EXAMPLE_MIN_PIXELS",
                        10 ** 9 if request.param == "one product" else 0)
    return request.param


BORDERS = ["valid", "full", "half", 1, (2, 1)]


@pytest.mark.parametrize("dilation", [(1, 1), (2, 1)], ids=str)
@pytest.mark.parametrize("flip", [True, False], ids=["conv", "corr"])
@pytest.mark.parametrize("subsample", [(1, 1), (2, 3)], ids=str)
@pytest.mark.parametrize("border_mode", BORDERS, ids=str)
def test_values(border_mode, subsample, flip, dilation, layout):
    rng = np.random.default_rng(0)
    for dtype in FLOATS if subsample == (1, 1) and dilation == (1, 1) else ("float64",):
        x, w = rand((2, 3, 7, 8), dtype, rng), rand((4, 3, 3, 2), dtype, rng)
        kw = dict(border_mode=border_mode, subsample=subsample, filter_flip=flip,
                  filter_dilation=dilation)
        got = check_op(lambda a, b: conv2d(a, b, **kw), lambda a, b: ref_conv(a, b, **kw),
                       [x, w], **_tol(dtype))
        assert got.dtype == dtype


@pytest.mark.parametrize("xshape,wshape,kw", [
    ((1, 1, 5, 5), (1, 1, 5, 5), {}),                        # filter as large as the image
    ((3, 2, 4, 9), (5, 2, 1, 1), {}),                        # 1x1 filters
    ((2, 1, 1, 6), (2, 1, 1, 3), {"border_mode": "full"}),   # one row
    ((2, 3, 6, 5), (2, 3, 4, 4), {"border_mode": "half"}),   # even filter, half
    ((1, 2, 9, 7), (3, 2, 3, 3), {"subsample": (3, 2), "border_mode": (1, 0)}),
    ((2, 4, 5, 6), (6, 2, 3, 2), {"num_groups": 2}),         # grouped
    ((2, 6, 5, 5), (3, 2, 2, 2), {"num_groups": 3, "border_mode": "full",
                                  "filter_flip": False}),
], ids=str)
def test_odd_shapes_and_groups(xshape, wshape, kw, layout):
    rng = np.random.default_rng(1)
    x, w = rand(xshape, "float64", rng), rand(wshape, "float64", rng)
    check_op(lambda a, b: conv2d(a, b, **kw), lambda a, b: ref_conv(a, b, **kw), [x, w])


@pytest.mark.parametrize("dtype", FLOATS)
def test_empty_batch(dtype, layout):
    x, w = np.zeros((0, 3, 6, 6), dtype), rand((2, 3, 3, 3), dtype)
    out = conv2d(T.tensor4(dtype=dtype), T.tensor4(dtype=dtype))
    f = theanine.function([out.owner.inputs[0], out.owner.inputs[1]], out)
    assert f(x, w).shape == (0, 2, 4, 4)
    g = T.grad(out.sum(), out.owner.inputs[1])
    gw = theanine.function(list(out.owner.inputs), g)(x, w)
    np.testing.assert_array_equal(gw, np.zeros_like(w))


def test_mixed_precision_upcasts():
    x, w = T.ftensor4("x"), T.dtensor4("w")
    out = conv2d(x, w)
    assert out.dtype == "float64"
    gx = T.grad(out.sum(), x)
    assert gx.dtype == "float32"
    xv, wv = rand((1, 2, 4, 4), "float32"), rand((1, 2, 2, 2), "float64")
    np.testing.assert_allclose(theanine.function([x, w], out)(xv, wv), ref_conv(xv, wv),
                               rtol=1e-6)


def test_large_image_float32_matches_float64():
    """A LeNet-sized first layer (the per-example layout) in float32."""
    rng = np.random.default_rng(2)
    x, w = rand((16, 1, 28, 28), "float32", rng), rand((8, 1, 5, 5), "float32", rng)
    X, W = T.ftensor4(), T.ftensor4()
    f = theanine.function([X, W], conv2d(X, W))
    np.testing.assert_allclose(f(x, w), ref_conv(x.astype("float64"), w.astype("float64")),
                               rtol=1e-4, atol=1e-4)


# -- the older paths and helpers ---------------------------------------------------------
def test_old_conv_module_signature():
    rng = np.random.default_rng(3)
    x, w = rand((2, 3, 6, 7), "float64", rng), rand((4, 3, 3, 3), "float64", rng)
    X, W = T.dtensor4(), T.dtensor4()
    out = T.nnet.conv.conv2d(X, W, image_shape=(2, 3, 6, 7), filter_shape=(4, 3, 3, 3),
                             border_mode="full", subsample=(1, 1))
    assert out.type.shape == (2, 4, 8, 9)
    np.testing.assert_allclose(theanine.function([X, W], out)(x, w),
                               ref_conv(x, w, "full"), rtol=1e-10)
    # positional (input, filters, image_shape, filter_shape) and old ConvOp tuning kwargs
    out2 = T.nnet.conv.conv2d(X, W, (2, 3, 6, 7), (4, 3, 3, 3), unroll_batch=2)
    assert out2.type.shape == (2, 4, 4, 5)
    assert T.nnet.conv2d is conv2d


def test_get_conv_output_shape():
    assert get_conv_output_shape((8, 3, 28, 28), (16, 3, 5, 5), "valid", (1, 1)) == \
        (8, 16, 24, 24)
    assert get_conv_output_shape((8, 3, 28, 28), (16, 3, 5, 5), "full", (1, 1)) == \
        (8, 16, 32, 32)
    assert get_conv_output_shape((8, 3, 28, 28), (16, 3, 5, 5), "half", (2, 2)) == \
        (8, 16, 14, 14)
    assert get_conv_output_shape((8, 3, 28, 28), (16, 3, 3, 3), (1, 2), (1, 1), (2, 2)) == \
        (8, 16, 26, 28)
    assert get_conv_output_shape((None, 3, None, 9), (16, 3, 3, 3), "valid", (1, 1)) == \
        (None, 16, None, 7)


def test_static_shapes():
    x = T.TensorType("float64", (2, 3, 9, 8))("x")
    w = T.TensorType("float64", (5, 3, 3, 3))("w")
    assert conv2d(x, w).type.shape == (2, 5, 7, 6)
    assert conv2d(x, w, border_mode="half", subsample=(2, 2)).type.shape == (2, 5, 5, 4)
    assert conv2d(x, w, border_mode="full", filter_dilation=(2, 1)).type.shape == \
        (2, 5, 13, 10)
    # from the shape hints alone
    out = conv2d(T.dtensor4(), T.dtensor4(), input_shape=(None, 3, 9, 8),
                 filter_shape=(5, 3, 3, 3))
    assert out.type.shape == (None, 5, 7, 6)
    gx, gw = T.grad(conv2d(x, w).sum(), [x, w])
    assert gx.type.shape == (2, 3, 9, 8) and gw.type.shape == (5, 3, 3, 3)


# -- gradients ---------------------------------------------------------------------------
GRAD_CASES = [
    {},
    {"border_mode": "full"},
    {"border_mode": "half", "filter_flip": False},
    {"border_mode": (1, 2), "subsample": (2, 2)},
    {"subsample": (2, 3), "filter_dilation": (1, 2)},
    {"border_mode": "half", "filter_dilation": (2, 2), "filter_flip": False},
    {"num_groups": 2, "border_mode": 1},
]


@pytest.mark.parametrize("kw", GRAD_CASES, ids=str)
def test_grad(kw, layout):
    rng = np.random.default_rng(4)
    x, w = rand((2, 2, 5, 6), "float64", rng), rand((2, 2 // kw.get("num_groups", 1), 3, 2),
                                                    "float64", rng)
    check_grad(lambda a, b: conv2d(a, b, **kw), [x, w], n_tests=1)


@pytest.mark.parametrize("kw", [{}, {"border_mode": "half", "subsample": (2, 1)},
                                {"filter_flip": False, "filter_dilation": (2, 1)}], ids=str)
def test_grad_of_gradient_ops(kw):
    """The gradient ops are differentiable too: second derivatives."""
    rng = np.random.default_rng(5)
    x, w = rand((2, 2, 5, 5), "float64", rng), rand((3, 2, 2, 3), "float64", rng)
    out_shape = ref_conv(x, w, **kw).shape
    top = rand(out_shape, "float64", rng)
    gw = Conv2dGradWeights(**kw)
    gi = Conv2dGradInputs(**kw)
    check_grad(lambda a, t: gw(a, t, np.array(w.shape[2:])), [x, top], n_tests=1)
    check_grad(lambda b, t: gi(b, t, np.array(x.shape[2:])), [w, top], n_tests=1)


def test_hessian_vector_product():
    """Second derivative through the whole chain: grad of a grad norm."""
    rng = np.random.default_rng(6)
    x, w = rand((1, 2, 5, 5), "float64", rng), rand((2, 2, 3, 3), "float64", rng)

    def fn(a, b):
        cost = T.sqr(conv2d(a, b, border_mode="half")).sum()
        return T.sqr(T.grad(cost, b)).sum() + T.sqr(T.grad(cost, a)).sum()

    check_grad(fn, [x, w], n_tests=1)


def test_grad_wrt_functions_and_transpose():
    rng = np.random.default_rng(7)
    x, w = rand((2, 3, 7, 6), "float64", rng), rand((4, 3, 3, 3), "float64", rng)
    X, W = T.dtensor4(), T.dtensor4()
    kw = dict(border_mode="half", subsample=(2, 2))
    out = conv2d(X, W, **kw)
    top = T.dtensor4()
    gx_ref, gw_ref = T.grad((out * top).sum(), [X, W])
    topv = rand(ref_conv(x, w, **kw).shape, "float64", rng)
    gx = conv2d_grad_wrt_inputs(top, W, (2, 3, 7, 6), **kw)
    gw = conv2d_grad_wrt_weights(X, top, (4, 3, 3, 3), **kw)
    tr = conv2d_transpose(top, W, (None, 3, X.shape[2], X.shape[3]), border_mode="half",
                          input_dilation=(2, 2))
    assert gx.type.shape == (2, 3, 7, 6) and gw.type.shape == (4, 3, 3, 3)
    f = theanine.function([X, W, top], [gx, gw, tr, gx_ref, gw_ref])
    a, b, c, a_ref, b_ref = f(x, w, topv)
    np.testing.assert_allclose(a, a_ref, rtol=1e-12)
    np.testing.assert_allclose(c, a_ref, rtol=1e-12)
    np.testing.assert_allclose(b, b_ref, rtol=1e-12)


# -- shapes ------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{}, {"border_mode": "full", "subsample": (2, 1)},
                                {"border_mode": "half", "filter_dilation": (2, 2)},
                                {"border_mode": (1, 2), "num_groups": 2}], ids=str)
def test_infer_shape(kw):
    rng = np.random.default_rng(8)
    x = rand((2, 4, 7, 8), "float64", rng)
    w = rand((2, 4 // kw.get("num_groups", 1), 3, 2), "float64", rng)
    top = rand(ref_conv(x, w, **kw).shape, "float64", rng)
    hw = lambda v: v.shape[2:]  # noqa: E731
    check_infer_shape(lambda a, b: conv2d(a, b, **kw), [x, w])
    check_infer_shape(lambda a, t: Conv2dGradWeights(**kw)(a, t, np.array(w.shape[2:])),
                      [x, top])
    check_infer_shape(lambda b, t: Conv2dGradInputs(**kw)(b, t, np.array(x.shape[2:])),
                      [w, top])
    # symbolic spatial shape argument
    X, W, TOP = T.dtensor4(), T.dtensor4(), T.dtensor4()
    g = Conv2dGradInputs(**kw)(W, TOP, hw(X))
    f = theanine.function([X, W, TOP], g.shape)
    assert tuple(f(x, w, top)) == x.shape


# -- errors ------------------------------------------------------------------------------
def test_rank_errors_name_the_argument():
    with pytest.raises(TypeError, match=r"input must be a 4-D tensor.*3-D tensor of static "
                                        r"shape \(\?, \?, \?\)"):
        conv2d(T.dtensor3("img"), T.dtensor4())
    with pytest.raises(TypeError, match=r"filters must be a 4-D tensor.*'w'.*2-D"):
        conv2d(T.dtensor4(), T.dmatrix("w"))


def test_shape_errors():
    x = T.TensorType("float64", (None, 3, 8, 8))()
    with pytest.raises(ValueError, match=r"3 channels .* filters expect 2"):
        conv2d(x, T.TensorType("float64", (4, 2, 3, 3))())
    with pytest.raises(ValueError, match="do not fit"):
        conv2d(x, T.TensorType("float64", (4, 3, 9, 3))())
    X, W = T.dtensor4(), T.dtensor4()
    f = theanine.function([X, W], conv2d(X, W))
    with pytest.raises(ValueError, match=r"3 channels .* filters expect 2"):
        f(np.zeros((1, 3, 5, 5)), np.zeros((2, 2, 3, 3)))
    g = theanine.function([X, W], conv2d(X, W, input_shape=(None, 3, 5, 5)))
    with pytest.raises(ValueError, match=r"input_shape=\(None, 3, 5, 5\) was given"):
        g(np.zeros((1, 3, 6, 5)), np.zeros((2, 3, 3, 3)))


@pytest.mark.parametrize("kw,exc,msg", [
    ({"border_mode": "same"}, ValueError, "border_mode"),
    ({"border_mode": -1}, ValueError, "border_mode"),
    ({"subsample": (0, 1)}, ValueError, "subsample"),
    ({"filter_dilation": (1, 2, 3)}, ValueError, "filter_dilation"),
    ({"num_groups": 0}, ValueError, "num_groups"),
    ({"unshared": True}, NotImplementedError, "unshared"),
    ({"input_shape": (1, 2, 3)}, ValueError, "input_shape"),
    ({"input_shape": (1, 3, 5, 5), "image_shape": (1, 3, 5, 5)}, ValueError, "not both"),
    ({"bogus": 1}, TypeError, "bogus"),
], ids=lambda v: str(v)[:30])
def test_argument_errors(kw, exc, msg):
    with pytest.raises(exc, match=msg):
        conv2d(T.dtensor4(), T.dtensor4(), **kw)
