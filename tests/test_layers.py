"""DESIGN.md's layer rule, checked on the source: each layer imports only from layers before it
(or from its own), including imports inside functions."""

import ast
from pathlib import Path

import levinthal

# The order of DESIGN.md's layer table; equal ranks share a row.
RANK = {"landscape": 0, "symmetry": 1, "systems": 2, "minimize": 3, "curvature": 3, "saddles": 4,
        "paths": 4, "explore": 5, "network": 6, "slices": 7, "studies": 8, "plots": 9, "report": 9,
        "parallel": 10, "cli": 10}


def test_every_layer_imports_only_from_layers_before_it():
    root = Path(levinthal.__file__).parent
    violations = []
    for f in sorted(root.rglob("*.py")):
        parts = f.relative_to(root).parts
        if len(parts) < 2:
            continue  # top-level helpers (levinthal.progress) belong to no layer
        layer = parts[0]
        assert layer in RANK, f"{f}: package {layer!r} is not in DESIGN.md's layer table"
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                bits = name.split(".")
                if bits[0] == "levinthal" and len(bits) > 1 and bits[1] in RANK:
                    if RANK[bits[1]] > RANK[layer]:
                        violations.append(f"{f.relative_to(root)}:{node.lineno}: {layer} imports {name}")
    assert not violations, "\n".join(violations)
