"""Compilation: ``function``, shared variables, modes and profiles."""

from theanine.compile.errors import MissingInputError, UnusedInputError  # noqa: F401
from theanine.compile.function import Function, In, Out, function  # noqa: F401
from theanine.compile.mode import FAST_COMPILE, FAST_RUN, Mode, get_mode  # noqa: F401
from theanine.compile.profiling import ProfileStats  # noqa: F401
from theanine.compile.shared import SharedVariable, TensorSharedVariable, shared  # noqa: F401
