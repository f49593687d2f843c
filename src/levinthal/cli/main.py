"""Entry point of the ``levinthal`` console command."""

from __future__ import annotations

import argparse
import sys

from levinthal import __version__

# Subcommands in the order `levinthal --help` lists them; any other module
# ``levinthal.cli.<name>_cmd`` with ``add_parser(sub)`` is picked up after these.
CORE_COMMANDS = ("systems", "minimize", "hessian", "atlas")


def _command_modules() -> list:
    import importlib
    import pkgutil

    import levinthal.cli as package

    found = sorted(m.name[:-4] for m in pkgutil.iter_modules(package.__path__) if m.name.endswith("_cmd"))
    names = [n for n in CORE_COMMANDS if n in found] + [n for n in found if n not in CORE_COMMANDS]
    return [importlib.import_module(f"levinthal.cli.{n}_cmd") for n in names]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="levinthal",
        description="Explore energy landscapes of physical systems and neural networks.",
    )
    parser.add_argument("--version", action="version", version=f"levinthal {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
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
