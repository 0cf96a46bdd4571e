"""Run the quantize variants of a recipe (and whatever they need that is not finished yet).

A quantize variant's parent is an export variant (fp32 ONNX). Finished steps with the same
inputs are reused from the run directory. For a model outside a recipe use
`emocompress export MODEL --out DIR --int8 dynamic`.

Example:
  emocompress quantize --recipe recipes/quickstart.yaml --variant student-int8
"""

from emocompress.cli.commands._recipe_cli import single_operation_command

NAME = "quantize"
HELP = "quantise exported variants of a recipe (int8 dynamic/static, fp16)"
add_arguments, run = single_operation_command("quantize", HELP)
