"""``theanine.tensor.signal``: pooling (``pool``), and the older ``downsample`` path."""
