"""Entry point of the ``levinthal`` console command."""

from __future__ import annotations

import argparse
import sys

from levinthal import __version__


def build_parser() -> argparse.ArgumentParser:
    from levinthal.cli import atlas_cmd, hessian_cmd, minimize_cmd, systems_cmd

    parser = argparse.ArgumentParser(
        prog="levinthal",
        description="Explore energy landscapes of physical systems and neural networks.",
    )
    parser.add_argument("--version", action="version", version=f"levinthal {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (systems_cmd, minimize_cmd, hessian_cmd, atlas_cmd):
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    from levinthal.landscape import LandscapeError

    try:
        return int(args.run(args) or 0)
    except LandscapeError as exc:
        print(f"levinthal {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
