"""Manage the compile cache: ``python -m theanine.cache list|clear`` (or ``theanine-cache``).

Generated native programs live under ``config.compiledir``, in one folder per Python,
NumPy and Numba version, with Numba's machine code in their ``__pycache__``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from theanine.config import config


def entries() -> list[tuple[str, int, int]]:
    """``(folder, number of programs, bytes)`` for each version folder of the cache."""
    root = config.compiledir
    out = []
    if not os.path.isdir(root):
        return out
    for name in sorted(os.listdir(root)):
        folder = os.path.join(root, name)
        if not os.path.isdir(folder):
            continue
        programs = [f for f in os.listdir(folder) if f.startswith("program_") and f.endswith(".py")]
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs)
        out.append((folder, len(programs), size))
    return out


def clear() -> int:
    """Delete the whole cache; returns the number of bytes freed."""
    freed = sum(size for _, _, size in entries())
    if os.path.isdir(config.compiledir):
        shutil.rmtree(config.compiledir)
    return freed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="theanine-cache", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["list", "clear"])
    args = parser.parse_args(argv)
    if args.command == "list":
        rows = entries()
        print(f"compile cache: {config.compiledir}")
        if not rows:
            print("  (empty)")
        for folder, n, size in rows:
            print(f"  {os.path.basename(folder)}: {n} programs, {size / 1024:.1f} KiB")
    else:
        freed = clear()
        print(f"cleared {config.compiledir} ({freed / 1024:.1f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
