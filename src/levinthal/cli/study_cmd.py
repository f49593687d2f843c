"""``levinthal study NAME``: run a case study and write its report section and numbers.

``--small`` runs the configuration the test suite uses (seconds); the default is the full one
written for the report. ``levinthal study --list`` names the studies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from levinthal.cli.common import emit_json


def add_parser(sub: Any) -> None:
    p = sub.add_parser("study", help="run a case study (funnels, Waddington, SGD thermostat, ...)")
    p.add_argument("name", nargs="?", help="study name (see --list)")
    p.add_argument("--list", action="store_true", help="list the studies")
    p.add_argument("--small", action="store_true", help="the small configuration (seconds)")
    p.add_argument("--out", default=None, help="output folder (default study-NAME)")
    p.add_argument("--seed", type=int, default=None, help="override the configuration's seed")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(run=run)


def run(args: Any) -> int:
    from levinthal.studies import get_study, study_names

    if args.list or not args.name:
        for name in study_names():
            print(f"{name:28s} {get_study(name).TITLE}")
        return 0 if args.list else 2
    try:
        study = get_study(args.name)
    except KeyError as exc:
        raise SystemExit(f"levinthal study: {exc.args[0]}") from None
    cfg = study.Config.small() if args.small else study.Config.full()
    if args.seed is not None and hasattr(cfg, "seed"):
        cfg.seed = args.seed
    out = Path(args.out or f"study-{study.NAME}")
    out.mkdir(parents=True, exist_ok=True)
    result = study.run(cfg, out)
    from levinthal.report.studies import write_study_report

    index = write_study_report([result], out / "index.html", title=f"levinthal study: {result.title}")
    (out / f"{study.NAME}.json").write_text(json.dumps(result.as_dict(), indent=2, default=float))
    if args.json:
        emit_json(result.as_dict())
        return 0
    print(f"{result.title} ({result.seconds:.1f} s)")
    for kind, sentence in result.verdicts:
        print(f"  [{kind}] {sentence}")
    for k, m in result.numbers.items():
        print(f"  {k}: {m.text()}")
    print(f"report: {index}")
    return 0
