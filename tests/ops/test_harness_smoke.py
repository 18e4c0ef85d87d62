import numpy as np

import theanine.tensor as T
from tests.ops.harness import check_grad, check_op, rand


def test_harness_add_and_grad():
    a, b = rand((3, 1), "float32"), rand((1, 4), "float32")
    check_op(lambda x, y: x + y, np.add, [a, b])
    check_grad(lambda x, y: x * y, [rand((3, 1)), rand((1, 4))])
    check_grad(T.tanh, [rand((2, 3))])
