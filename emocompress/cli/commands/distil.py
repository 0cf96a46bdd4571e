"""Run the distil variants of a recipe (and whatever they need that is not finished yet).

Finished steps with the same inputs are reused from the run directory.

Example:
  emocompress distil --recipe recipes/quickstart.yaml --variant student-3l
"""

from emocompress.cli.commands._recipe_cli import single_operation_command

NAME = "distil"
HELP = "distil students from a recipe"
add_arguments, run = single_operation_command("distil", HELP)
