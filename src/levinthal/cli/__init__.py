"""The ``levinthal`` command: one subcommand per module in this package."""
