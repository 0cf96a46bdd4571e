"""One module per CLI command.

Each module defines ``NAME`` (the sub-command), ``HELP`` (one line), ``ORDER`` (position
in ``--help``), ``add_arguments(parser)`` and ``run(args) -> int``. Modules are found by
:func:`emocompress.cli.build_parser`; adding a command is adding a module. Keep module-level
imports light: heavy libraries are imported inside ``run``.
"""
