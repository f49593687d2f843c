"""``levinthal db summary|export|merge``: look into, export and combine landscape databases.

``--db`` takes a SQLAlchemy URL (``sqlite:///runs.db``, ``postgresql+psycopg://user@host/db``) or
a plain path to a SQLite file. Read-only commands never create a database: a missing file or an
empty server database is an error naming it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from levinthal.cli.common import emit_json


def add_parser(sub: Any) -> None:
    p = sub.add_parser("db", help="summarise, export or merge landscape databases")
    actions = p.add_subparsers(dest="db_action", metavar="ACTION", required=True)

    s = actions.add_parser("summary", help="counts, lowest minima and runs per system")
    _common(s)
    s.add_argument("--system", help="only this system")
    s.add_argument("--lowest", type=int, default=5, help="how many lowest minima to list (default 5)")
    s.set_defaults(run=run_summary)

    e = actions.add_parser("export", help="write JSON lines or PATHSAMPLE min.data/ts.data/points files")
    _common(e)
    e.add_argument("--format", choices=["json", "pathsample"], default="json")
    e.add_argument("--out", required=True, help="output directory")
    e.add_argument("--system", help="only this system (pathsample: required if there are several)")
    e.add_argument("--allow-missing", action="store_true",
                   help="pathsample: write NaN / order 1 for points without Hessian data instead of failing")
    e.set_defaults(run=run_export)

    m = actions.add_parser("merge", help="merge another database (or a JSON-lines export) into --db")
    _common(m)
    m.add_argument("--from", dest="source", required=True,
                   help="URL or SQLite path of the database to merge in, or a .jsonl export")
    m.add_argument("--no-symmetry", action="store_true",
                   help="compare geometries without the systems' symmetry (no make_system)")
    m.set_defaults(run=run_merge)


def _common(p: Any) -> None:
    p.add_argument("--db", required=True, help="database URL or SQLite file path")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _open(url: str, *, create: bool) -> Any:
    from levinthal.network.database import Database

    return Database(url, create=create)


def run_summary(args: Any) -> int:
    with _open(args.db, create=False) as db:
        summary = db.summary(args.system, lowest=args.lowest)
    if args.system is not None and not summary["systems"]:
        raise SystemExit(f"levinthal db summary: {summary['url']} has no system {args.system!r}")
    if args.json:
        emit_json(summary)
        return 0
    print(f"{summary['url']} (schema version {summary['schema_version']})")
    if not summary["systems"]:
        print("  no systems yet")
    for s in summary["systems"]:
        print(f"{s['name']} (dim {s['dim']}): {s['minima']} minima, {s['transition_states']} transition "
              f"states, {len(s['runs'])} runs")
        for m in s["lowest"]:
            print(f"  minimum {m['id']:>6}  E = {m['energy']:.10f}  hits {m['hits']}")
        for r in s["runs"]:
            print(f"  run {r['id']:>4}  {r['method']}  seed {r['seed']}  {r['status']}  "
                  f"started {r['started']}")
    return 0


def run_export(args: Any) -> int:
    from levinthal.network.db_export import export_jsonl, export_pathsample

    out = Path(args.out)
    with _open(args.db, create=False) as db:
        if args.format == "json":
            out.mkdir(parents=True, exist_ok=True)
            path = out / "levinthal-db.jsonl"
            lines = export_jsonl(db, path, args.system)
            result = {"format": "json", "path": str(path), "lines": lines}
        else:
            missing = "nan" if args.allow_missing else "error"
            written = export_pathsample(db, out, args.system, missing=missing)
            result = {"format": "pathsample", **written.as_dict()}
    if args.json:
        emit_json(result)
    elif args.format == "json":
        print(f"{result['lines']} lines written to {result['path']}")
    else:
        skipped = result["skipped_transition_states"]
        print(f"{result['n_minima']} minima, {result['n_transition_states']} transition states written to "
              f"{result['directory']} (min.data, ts.data, points.min, points.ts)"
              + (f"; {skipped} transition states with an unknown endpoint left out" if skipped else ""))
    return 0


def _landscapes(no_symmetry: bool) -> Any:
    """name -> landscape from ``make_system`` (for its symmetry), or None when that name is unknown."""
    if no_symmetry:
        return None
    cache: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in cache:
            from levinthal.systems.registry import make_system

            try:
                cache[name] = make_system(name)
            except Exception as exc:  # an unknown or unbuildable system: merge by plain geometry
                print(f"levinthal db merge: no landscape for {name!r} ({exc}); comparing geometries "
                      "without symmetry", file=sys.stderr)
                cache[name] = None
        return cache[name]

    return get


def run_merge(args: Any) -> int:
    from levinthal.network.db_export import import_jsonl

    landscapes = _landscapes(args.no_symmetry)
    with _open(args.db, create=True) as db:
        if args.source.endswith(".jsonl"):
            if not Path(args.source).exists():
                raise SystemExit(f"levinthal db merge: {args.source} does not exist")
            report = import_jsonl(db, args.source, landscapes=landscapes)
            source = args.source
        else:
            with _open(args.source, create=False) as src:
                source = src.safe_url
                report = db.merge_from(src, landscapes=landscapes)
        total = db.count_minima()
    result = {"into": db.safe_url, "from": source, **report.as_dict(), "minima_now": total}
    if args.json:
        emit_json(result)
        return 0
    print(f"merged {source} into {db.safe_url}: {report.minima_added} new minima, "
          f"{report.minima_merged} duplicates merged, {report.transition_states_added} new transition "
          f"states, {report.transition_states_merged} merged, {report.runs_copied} runs copied; "
          f"{total} minima now")
    return 0
