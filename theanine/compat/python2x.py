"""Theano 1.0's ``theano.compat``: the Python 2/3 helpers that programs import from it
(``OrderedDict``, ``izip``, ``PY3``, ...), for Python 3."""

from collections import OrderedDict  # noqa: F401

PY3 = True
izip = zip
imap = map
ifilter = filter
string_types = (str,)
integer_types = (int,)
text_type = str
unicode = str
xrange = range


def iteritems(d: dict):
    """``d.items()`` (Python 2's ``iteritems``)."""
    return iter(d.items())


def itervalues(d: dict):
    """``d.values()`` (Python 2's ``itervalues``)."""
    return iter(d.values())


def iterkeys(d: dict):
    """``d.keys()`` (Python 2's ``iterkeys``)."""
    return iter(d.keys())


def decode(x: bytes | str) -> str:
    """Bytes to text (UTF-8); text unchanged."""
    return x.decode() if isinstance(x, bytes) else x


def get_unbound_function(f):
    """The function itself (Python 3 has no unbound methods)."""
    return f
