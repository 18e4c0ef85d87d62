"""Native CPU code: each compiled function becomes one Numba program (see ``linker``)."""

from theanine.backend.numba.linker import NumbaLinker, NumbaRunner, build_source  # noqa: F401
