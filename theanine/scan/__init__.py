"""``scan``: loops inside the graph, with gradients (back-propagation through time)."""

from theanine.scan.api import foldl, foldr, map, reduce, scan, until  # noqa: F401,A004
from theanine.scan.op import Scan, ScanInfo  # noqa: F401
