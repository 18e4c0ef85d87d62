"""Native kernels of the MRG31k3p ops (:mod:`theanine.tensor.random.mrg31k3p`).

``MRGUniform``: the generated code follows Theano's C code sample by sample (sample ``i``
from stream ``i % n_streams``), emulating its wrapping 32-bit arithmetic in 64-bit
integers, so the native program draws bit-identical numbers to the NumPy implementation.
The state input is copied, never written. float16 samples (no Numba type) run on the
NumPy VM. ``MultinomialFromUniform`` and ``ChoiceFromUniform`` accumulate probabilities
in float64 and renormalise in the dtype of ``pvals``, as their NumPy implementations.
"""

from __future__ import annotations

from theanine.backend.numba.kernels import dtype_name, register
from theanine.tensor.random.mrg31k3p import ChoiceFromUniform, MRGUniform, MultinomialFromUniform

_MRG = '''
@numba.njit(cache=True, inline="always")
def _mrg_wrap32(v):
    return ((v + 2147483648) & 4294967295) - 2147483648


@numba.njit(cache=True)
def _mrg31k3p_fill(state, out, single):
    M1 = 2147483647
    M2 = 2147462579
    n_streams = state.shape[0]
    for i in range(out.shape[0]):
        s = i % n_streams
        x11 = np.int64(state[s, 0])
        x12 = np.int64(state[s, 1])
        x13 = np.int64(state[s, 2])
        x21 = np.int64(state[s, 3])
        x22 = np.int64(state[s, 4])
        x23 = np.int64(state[s, 5])
        y1 = _mrg_wrap32(((x12 & 511) << 22) + (x12 >> 9) + ((x13 & 16777215) << 7) + (x13 >> 24))
        if y1 < 0 or y1 >= M1:
            y1 = _mrg_wrap32(y1 - M1)
        y1 = _mrg_wrap32(y1 + x13)
        if y1 < 0 or y1 >= M1:
            y1 = _mrg_wrap32(y1 - M1)
        x13 = x12
        x12 = x11
        x11 = y1
        y1 = _mrg_wrap32(((x21 & 65535) << 15) + 21069 * (x21 >> 16))
        if y1 < 0 or y1 >= M2:
            y1 = _mrg_wrap32(y1 - M2)
        y2 = _mrg_wrap32(((x23 & 65535) << 15) + 21069 * (x23 >> 16))
        if y2 < 0 or y2 >= M2:
            y2 = _mrg_wrap32(y2 - M2)
        y2 = _mrg_wrap32(y2 + x23)
        if y2 < 0 or y2 >= M2:
            y2 = _mrg_wrap32(y2 - M2)
        y2 = _mrg_wrap32(y2 + y1)
        if y2 < 0 or y2 >= M2:
            y2 = _mrg_wrap32(y2 - M2)
        x23 = x22
        x22 = x21
        x21 = y2
        d = x11 - x21 + M1 if x11 <= x21 else x11 - x21
        if single:
            out[i] = np.float32(d) * np.float32(4.6566126e-10)
        else:
            out[i] = d * 4.656612873077392578125e-10
        state[s, 0] = x11
        state[s, 1] = x12
        state[s, 2] = x13
        state[s, 3] = x21
        state[s, 4] = x22
        state[s, 5] = x23
'''


@register(MRGUniform)
def mrg_uniform(node, ins, outs, ctx):
    dtype = node.op.dtype
    if dtype not in ("float32", "float64"):
        return None
    ctx.helper("_mrg31k3p_fill", _MRG)
    rstate, size = ins
    o_state, o_sample = outs
    nd = len(node.op.shape)
    n, flat = ctx.fresh("n"), ctx.fresh("flat")
    dims = [f"{size}[{d}]" for d in range(nd)]
    shape = "(" + ", ".join(dims) + ("," if nd == 1 else "") + ")"
    lines = [f"if {size}.shape[0] != {nd}:",
             f"    raise ValueError('MRGUniform: size must have length {nd}')",
             f"if {rstate}.shape[1] != 6 or {rstate}.shape[0] == 0:",
             "    raise ValueError('MRGUniform: the state must have shape (n_streams > 0, 6)')",
             f"{n} = 1"]
    for d in dims:
        lines += [f"if {d} < 0:", "    raise ValueError('MRGUniform: negative dimension in size')",
                  f"{n} *= {d}"]
    lines += [f"if {n} > 2147483647:",
              "    raise ValueError('MRGUniform: rng_mrg does not support more than 2**31 - 1 "
              "samples')",
              f"{o_state} = np.ascontiguousarray({rstate}).copy()",
              f"{flat} = np.empty({n}, {dtype_name(dtype)})",
              f"_mrg31k3p_fill({o_state}, {flat}, {dtype == 'float32'})",
              f"{o_sample} = {flat}.reshape({shape})" if nd else
              f"{o_sample} = {flat}.reshape(())"]
    return lines


_FROM_UNIFORM = '''
@numba.njit(cache=True)
def _multinomial_from_uniform(pvals, unis, n, out):
    nb_multi, nb_outcomes = pvals.shape
    if unis.shape[0] != nb_multi * n:
        raise ValueError('MultinomialFromUniform: unis.shape[0] != pvals.shape[0] * n')
    out[:, :] = 0
    for c in range(n):
        for i in range(nb_multi):
            u = np.float64(unis[c * nb_multi + i])
            cum = 0.0
            for m in range(nb_outcomes):
                cum += np.float64(pvals[i, m])
                if cum > u:
                    out[i, m] += 1
                    break


@numba.njit(cache=True)
def _choice_from_uniform(pvals, unis, n, replace, out):
    nb_multi, nb_outcomes = pvals.shape
    if not replace and n > nb_outcomes:
        raise ValueError('ChoiceFromUniform: cannot sample more values than outcomes '
                         'without replacement')
    if unis.shape[0] != nb_multi * n:
        raise ValueError('ChoiceFromUniform: unis.shape[0] != pvals.shape[0] * n')
    pv = pvals.copy()
    tmp = np.empty(1, pv.dtype)
    out[:, :] = -1
    for c in range(n):
        for i in range(nb_multi):
            u = np.float64(unis[c * nb_multi + i])
            cum = 0.0
            for m in range(nb_outcomes):
                cum += np.float64(pv[i, m])
                if cum > u:
                    out[i, c] = m
                    if c != n - 1 and not replace:
                        tmp[0] = cum - np.float64(pv[i, m])
                        total = tmp[0]
                        pv[i, m] = 0
                        for k in range(m, nb_outcomes):
                            total = total + pv[i, k]
                        for k in range(nb_outcomes):
                            pv[i, k] = pv[i, k] / total
                    break
'''


@register(MultinomialFromUniform)
def multinomial_from_uniform(node, ins, outs, ctx):
    if any(v.type.dtype == "float16" for v in node.inputs + node.outputs):
        return None
    ctx.helper("_multinomial_from_uniform", _FROM_UNIFORM)
    pvals, unis, n = ins
    o = outs[0]
    if isinstance(node.op, ChoiceFromUniform):
        return [f"if {n}[()] < 0:", "    raise ValueError('ChoiceFromUniform: negative n')",
                f"{o} = np.empty(({pvals}.shape[0], {n}[()]), "
                f"{dtype_name(node.outputs[0].type.dtype)})",
                f"_choice_from_uniform({pvals}, {unis}, {n}[()], {node.op.replace}, {o})"]
    return [f"{o} = np.empty({pvals}.shape, {dtype_name(node.outputs[0].type.dtype)})",
            f"_multinomial_from_uniform({pvals}, {unis}, {n}[()], {o})"]
