"""Which framework functions a snippet calls, with which argument names.

``calls_in(code, framework)`` parses a snippet with ``ast`` and resolves every call to
a framework's public name through the snippet's own imports (``import lightning as L``
makes ``L.Trainer`` ``lightning.Trainer``) or, for methods on the usual objects
(``model.fit``, ``trainer.train``), through :data:`METHODS`. Calls of the user's own
code (``build_model()``, ``evaluate(model)``) resolve to nothing and are not checked.
The argument names are checked against ``tests/api_table.py``.
"""

from __future__ import annotations

import ast

#: Top-level packages whose calls must be in the API table.
FRAMEWORK_ROOTS = ("keras", "transformers", "lightning", "torch", "peft")

#: Methods called on the objects a snippet assumes (the user's model, trainer, ...).
METHODS = {
    "keras": {
        "model.fit": "keras.Model.fit",
        "model.compile": "keras.Model.compile",
        "model.evaluate": "keras.Model.evaluate",
        "norm.adapt": "keras.layers.Normalization.adapt",
    },
    "hf": {
        "trainer.train": "transformers.Trainer.train",
        "trainer.add_callback": "transformers.Trainer.add_callback",
        "trainer.evaluate": "transformers.Trainer.evaluate",
    },
    "lightning": {
        "trainer.fit": "lightning.Trainer.fit",
    },
    "pytorch": {
        "model.state_dict": "torch.nn.Module.state_dict",
        "model.load_state_dict": "torch.nn.Module.load_state_dict",
        "model.parameters": "torch.nn.Module.parameters",
        "optimizer.step": "torch.optim.Optimizer.step",
        "optimizer.zero_grad": "torch.optim.Optimizer.zero_grad",
        "scheduler.step": "torch.optim.lr_scheduler.ReduceLROnPlateau.step",
    },
}


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _imports(tree: ast.AST) -> dict[str, str]:
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                names[a.asname or a.name.split(".")[0]] = (
                    a.name if a.asname else a.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"
    return names


def calls_in(code: str, framework: str) -> list[tuple[str, list[str], int]]:
    """``[(qualified name, keyword names, number of positional args)]`` of every call of
    a framework function in ``code`` (which must parse)."""
    tree = ast.parse(code)
    imports = _imports(tree)
    methods = METHODS.get(framework, {})
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        dotted = _dotted(node.func)
        if dotted is None:
            continue
        head, _, rest = dotted.partition(".")
        if head in imports:
            qualified = imports[head] + ("." + rest if rest else "")
        elif dotted in methods:
            qualified = methods[dotted]
        else:
            continue
        kws = [k.arg for k in node.keywords if k.arg is not None]
        out.append((qualified, kws, len(node.args)))
    return out


def is_framework(qualified: str) -> bool:
    return qualified.split(".")[0] in FRAMEWORK_ROOTS
