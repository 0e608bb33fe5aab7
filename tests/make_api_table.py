"""Print the parameter names of the framework callables in ``api_table.API``, from the
installed packages, as the table's rows: run it where keras, transformers, lightning,
torch and peft are installed, and compare with ``api_table.py``.

    python tests/make_api_table.py > /tmp/rows.txt

Builtins without an introspectable signature (``torch.unique``, ``torch.isfinite``,
``torch.randn_like``) are printed from the first line of their docstring.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_table import API, FROM_DOCSTRING  # noqa: E402


def resolve(name: str):
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p)
        return obj
    raise ImportError(name)


def params(name: str, obj) -> list[str]:
    if name in FROM_DOCSTRING:
        head = (obj.__doc__ or "").strip().splitlines()[0]
        inside = re.search(r"\((.*)\)", head).group(1)
        return [a.split("=")[0].strip() for a in inside.split(",") if a.strip() not in ("*", "")]
    sig = inspect.signature(obj)
    skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [n for n, p in sig.parameters.items() if p.kind not in skip and n != "self"]


def main() -> None:
    for root in ("keras", "transformers", "lightning", "torch", "peft"):
        print(f"# {root} {importlib.import_module(root).__version__}")
    for name in sorted(API):
        print(f'    "{name}": {tuple(params(name, resolve(name)))!r},')


if __name__ == "__main__":
    main()
