"""C-contiguous arguments for native programs.

A program is compiled once for arguments of any memory layout (Numba's 'A' arrays), so
that views and transposes reuse its machine code. On 'A' arrays LLVM cannot assume unit
strides, and the element-wise loops stay scalar: W4's in-place pass over its 8,219 x 200
embedding took 1.3 ms instead of 0.3 ms. The program's entry point therefore hands its
body C-typed arrays: the arguments themselves when they are C-contiguous (nearly always),
contiguous copies otherwise. An argument updated in place is then updated in the copy,
which the program copies back into the argument, so results are the same either way.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic, overload


@intrinsic
def _assume_c(typingctx, a):
    """``a`` typed as C-contiguous (the caller has checked that it is)."""
    if not isinstance(a, types.Array):
        return None

    def codegen(context, builder, sig, args):
        # every layout has the same data model: the same struct, one more reference
        return impl_ret_borrowed(context, builder, sig.return_type, args[0])

    return a.copy(layout="C")(a), codegen


@intrinsic
def any_layout(typingctx, a):
    """``a`` typed with layout 'A' (any strides): a callee taking its arrays this way is
    compiled once, not once for each combination of C, F and 'A' layouts of its callers."""
    if not isinstance(a, types.Array):
        return None

    def codegen(context, builder, sig, args):
        return impl_ret_borrowed(context, builder, sig.return_type, args[0])

    return a.copy(layout="A")(a), codegen


def c_contiguous(a):
    """``a`` as a C-typed array: itself when C-contiguous, else a contiguous copy (only
    callable from native code)."""
    raise NotImplementedError("only callable from native code")


@overload(c_contiguous)
def _c_contiguous(a):
    if not isinstance(a, types.Array) or a.layout == "C" or a.ndim == 0:
        return lambda a: a  # (a 0-d array has no strides to know)

    def impl(a):
        if a.flags.c_contiguous:
            return _assume_c(a)
        return np.ascontiguousarray(a)
    return impl
