"""Saving and loading models: pickles with their arrays as ``.npy`` files in a zip.

:func:`dump` writes an object (a model holding shared variables and compiled functions,
say) as Theano's ``theano.misc.pkl_utils.dump`` did: a zip file whose member ``pkl`` is
the pickle of the object and whose other members are its NumPy arrays in ``.npy`` format,
each named after the shared variable holding it (``W.npy``, ``b.npy``; the others
``array_0.npy``...). ``numpy.load('model.zip')['W']`` reads a parameter without
theanine. :func:`load` reads the object back; arrays referenced several times come back
as one array.

Writes to a path are atomic (:func:`atomic_write`): the file appears complete or not at
all, and a failure while saving leaves the previous file intact.

.. warning::
   Unpickling runs code named in the file (any callable with any arguments): load only
   files you trust. The ``.npy`` members are read without pickling.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import re
import secrets
import zipfile
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

__all__ = ["StripPickler", "atomic_write", "dump", "load"]

_PICKLE = "pkl"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open ``path`` for writing so that it is replaced only if the block completes.

    Writes go to a temporary file in the same directory, which is flushed, synced to
    disk and renamed over ``path`` (``os.replace``, atomic) when the ``with`` block
    ends normally; if the block raises, the temporary file is removed and ``path``
    keeps its previous content. An existing file's permissions are kept.

    Parameters
    ----------
    path : str or path-like
    mode : {'wb', 'w'}
        Binary or text.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), 'out.txt')
    >>> with atomic_write(path, 'w') as fh:
    ...     _ = fh.write('hello')
    >>> open(path).read()
    'hello'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
            break
        except FileExistsError:  # pragma: no cover - a 48-bit name collision
            continue
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _sync_directory(directory)


def _sync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable (POSIX; a no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class StripPickler(pickle.Pickler):
    """A pickler that leaves out the debugging information of symbolic variables.

    Variables are pickled without their creation site and without the tags named in
    ``extra_tag_to_remove`` (by default ``trace`` and ``test_value``), as Theano's
    ``StripPickler``.

    Parameters
    ----------
    file : binary file
    protocol : int, optional
    extra_tag_to_remove : list of str, optional
        More tag keys to leave out.

    Examples
    --------
    >>> import io, theanine.tensor as T
    >>> StripPickler(io.BytesIO()).dump(T.dvector('x') * 2)
    """

    def __init__(self, file: IO[bytes], protocol: int | None = None,
                 extra_tag_to_remove: list[str] | None = None) -> None:
        super().__init__(file, protocol)
        self.tags_to_remove = {"trace", "test_value", *(extra_tag_to_remove or [])}

    def reducer_override(self, obj: Any) -> Any:
        from theanine.graph.basic import Variable

        if not isinstance(obj, Variable):
            return NotImplemented
        state = dict(obj.__getstate__())
        state["site"] = None
        state["tag"] = {k: v for k, v in state.get("tag", {}).items()
                        if k not in self.tags_to_remove}
        return (_new, (type(obj),), state)


def _new(cls: type) -> Any:
    return cls.__new__(cls)


def _member_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip(".") or "array"


class _ZipPickler(StripPickler):
    """Pickles into a zip: NumPy arrays become ``.npy`` members, named after the shared
    variable holding them where there is one."""

    def __init__(self, file: IO[bytes], archive: zipfile.ZipFile, protocol: int | None,
                 strip: bool) -> None:
        super().__init__(file, protocol)
        self.archive = archive
        self.strip = strip
        self.array_names: dict[int, str] = {}  # id(array) -> name, from shared variables
        self.saved: dict[int, tuple[str, np.ndarray]] = {}  # id(array) -> member, array
        self.used: set[str] = {_PICKLE}
        self.count = 0

    def reducer_override(self, obj: Any) -> Any:
        if self.strip:
            return super().reducer_override(obj)
        return NotImplemented

    def _unique(self, name: str) -> str:
        name = _member_name(name)
        candidate, k = name, 2
        while candidate + ".npy" in self.used or candidate == _PICKLE:
            candidate, k = f"{name}_{k}", k + 1
        self.used.add(candidate + ".npy")
        return candidate

    def persistent_id(self, obj: Any) -> Any:
        from theanine.compile.shared import SharedVariable

        if isinstance(obj, SharedVariable):
            value = obj.storage[0]
            if obj.name and isinstance(value, np.ndarray):
                self.array_names.setdefault(id(value), obj.name)
            return None
        if type(obj) is not np.ndarray or obj.dtype.hasobject:
            return None
        key = id(obj)
        if key not in self.saved:
            name = self.array_names.get(key)
            if name is None:
                name = f"array_{self.count}"
                self.count += 1
            member = self._unique(name) + ".npy"
            with self.archive.open(member, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, obj, allow_pickle=False)
            self.saved[key] = (member, obj)  # keeps the array alive: ids stay unique
        return ("ndarray", self.saved[key][0])


class _ZipUnpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], archive: zipfile.ZipFile) -> None:
        super().__init__(file)
        self.archive = archive
        self.loaded: dict[str, np.ndarray] = {}

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) == 2 and pid[0] == "ndarray"):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        member = pid[1]
        if member not in self.loaded:
            with self.archive.open(member) as fh:
                self.loaded[member] = np.lib.format.read_array(fh, allow_pickle=False)
        return self.loaded[member]


def _write(obj: Any, fh: IO[bytes], protocol: int | None, compress: bool,
           strip: bool) -> None:
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(fh, "w", method, allowZip64=True) as archive:
        buffer = io.BytesIO()
        _ZipPickler(buffer, archive, protocol, strip).dump(obj)
        archive.writestr(_PICKLE, buffer.getvalue())


def dump(obj: Any, file_handler: str | os.PathLike | IO[bytes],
         protocol: int | None = pickle.DEFAULT_PROTOCOL, compress: bool = False,
         strip: bool = False) -> None:
    """Save ``obj`` as a zip of its pickle and its arrays (``.npy`` members).

    Parameters
    ----------
    obj : object
        Anything picklable: shared variables, compiled functions, objects holding them.
    file_handler : path or binary file
        A path is written atomically (a failure leaves an existing file unchanged); an
        open file is written in place.
    protocol : int, optional
        The pickle protocol.
    compress : bool
        Deflate the members (smaller, slower).
    strip : bool
        Leave out variables' creation sites and debugging tags (:class:`StripPickler`).

    Examples
    --------
    >>> import io, numpy as np, theanine
    >>> W = theanine.shared(np.eye(2), 'W')
    >>> buf = io.BytesIO()
    >>> dump(W, buf)
    >>> sorted(zipfile.ZipFile(buf).namelist())
    ['W.npy', 'pkl']
    >>> load(buf).get_value()
    array([[1., 0.],
           [0., 1.]])

    Notes
    -----
    Loading the file unpickles it, which runs code named in it: load only files you
    trust.
    """
    if isinstance(file_handler, (str, os.PathLike)):
        with atomic_write(file_handler, "wb") as fh:
            _write(obj, fh, protocol, compress, strip)
    else:
        _write(obj, file_handler, protocol, compress, strip)


def load(f: str | os.PathLike | IO[bytes]) -> Any:
    """Load an object saved by :func:`dump` (from a path or a binary file).

    .. warning::
       Unpickling runs code named in the file: load only files you trust.
    """
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return load(fh)
    with zipfile.ZipFile(f, "r") as archive:
        with archive.open(_PICKLE) as fh:
            return _ZipUnpickler(io.BytesIO(fh.read()), archive).load()
