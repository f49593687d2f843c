"""``levinthal systems``: list the named systems."""

from __future__ import annotations

from typing import Any

from levinthal.cli.common import emit_json


def add_parser(sub: Any) -> None:
    p = sub.add_parser("systems", help="list the built-in systems")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: Any) -> int:
    from levinthal.systems import entries

    rows = [{"name": e.example, "pattern": e.pattern, "description": e.description}
            for e in entries()]
    if args.json:
        emit_json(rows)
    else:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            print(f"{r['name']:<{width}}  {r['description']}")
    return 0
