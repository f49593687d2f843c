"""``levinthal atlas``: one report putting a cluster and a network's loss landscape side by side."""

from __future__ import annotations

from typing import Any


def add_parser(sub: Any) -> None:
    from levinthal.report.atlas import AtlasConfig

    d = AtlasConfig()
    p = sub.add_parser("atlas", help="compare a physical and a network landscape in one HTML report")
    p.add_argument("--out", default="atlas-report", help="output folder (default atlas-report)")
    p.add_argument("--cluster", default=d.cluster, help=f"physical system (default {d.cluster})")
    p.add_argument("--network", default=d.network, help=f"network system (default {d.network})")
    p.add_argument("--cluster-starts", type=int, default=d.cluster_starts)
    p.add_argument("--network-starts", type=int, default=d.network_starts)
    p.add_argument("--network-l2", type=float, default=d.network_l2,
                   help="weight decay λ that makes the network's minima isolated")
    p.add_argument("--grow-connections", type=int, default=d.grow_connections,
                   help="connect runs that build the cluster's kinetic network (0: none)")
    p.add_argument("--studies", nargs="*", default=list(d.studies),
                   help="case studies to add as report sections ('all', or names from "
                        "'levinthal study --list'; default: %(default)s)")
    p.add_argument("--study-size", choices=["small", "full"], default=d.study_size,
                   help="configuration of the studies (default %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.set_defaults(run=run)


def run(args: Any) -> int:
    import json
    from pathlib import Path

    from levinthal.report.atlas import AtlasConfig, run_atlas

    cfg = AtlasConfig(cluster=args.cluster, network=args.network,
                      cluster_starts=args.cluster_starts, network_starts=args.network_starts,
                      network_l2=args.network_l2, seed=args.seed, quiet=args.quiet,
                      grow_connections=args.grow_connections, studies=tuple(args.studies),
                      study_size=args.study_size)
    path = run_atlas(cfg, Path(args.out))
    if args.json:
        print((Path(args.out) / "atlas.json").read_text())
    else:
        findings = json.loads((Path(args.out) / "atlas.json").read_text())["findings"]
        for kind, text in findings:
            print(f"[{kind}] {text}")
        print(f"report written to {path}")
    return 0
