"""See what a checkpoint holds without loading it.

PATH is a checkpoint directory (model.safetensors, sharded safetensors with
model.safetensors.index.json, pytorch_model.bin), a .safetensors, .bin or .onnx file,
pkg:NAME or a Hugging Face hub id. Shows total parameters, parameters without embeddings,
bytes on disk and dtypes, then parameters, percent and MB by top-level prefix and by
component (or per layer with --by layer), the architecture from config.json, and tensors
that share storage. Counting reads only the safetensors header, so even a 5 GB checkpoint
takes a fraction of a second; --sparsity and --duplicates read every tensor, one at a time.

Parameters exclude integer buffers (position_ids), ONNX graph constants and an int8
graph's scales and zero points (shown apart); "embeddings" are the tensors under an
*embeddings* module, their LayerNorm included. The path is printed on its own line (the
terminal wraps it; the tables keep their width).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

NAME = "inspect"
HELP = "show parameters, size and structure of a checkpoint (reads only headers)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path", metavar="PATH", help="checkpoint directory or file, pkg:NAME, or hub id"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the facts as JSON instead of tables"
    )
    parser.add_argument(
        "--by",
        choices=("prefix", "component", "layer"),
        action="append",
        help="breakdown(s) to show (default: prefix and component); repeatable",
    )
    parser.add_argument(
        "--sparsity", action="store_true", help="fraction of exact zeros overall and per component"
    )
    parser.add_argument(
        "--duplicates",
        action="store_true",
        help="find byte-identical tensors (hashes tensors whose dtype and shape match)",
    )


def run(args: argparse.Namespace) -> int:
    from emocompress.models.inspect import inspect_checkpoint
    from emocompress.models.reference import resolve_model_path

    path = resolve_model_path(args.path)
    report = inspect_checkpoint(path, sparsity=args.sparsity, duplicates=args.duplicates)
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_tables(report, args.by or ["prefix", "component"])
    return 0


# ----------------------------------------------------------------------------- tables


def _print_tables(report: Any, breakdowns: list[str]) -> None:
    from rich.console import Console

    console = Console()
    # the path on a line of its own, wrapped by the terminal (never cut or folded mid-word
    # at the table's width, and copied whole)
    console.print(source_line(report), soft_wrap=True)
    console.print(totals_table(report))
    if report.architecture:
        console.print(architecture_table(report.architecture))
    sparsity = (report.sparsity or {}).get("components")
    for by in dict.fromkeys(breakdowns):
        rows = {
            "prefix": report.by_prefix,
            "component": report.by_component,
            "layer": report.by_layer,
        }[by]
        console.print(breakdown_table(by, rows, report, sparsity if by == "component" else None))
    for title, groups in (
        ("Tensors sharing storage", report.shared),
        ("Byte-identical duplicates", report.duplicates),
    ):
        if groups:
            console.print(groups_table(title, groups))
    if report.duplicates == []:
        console.print("No byte-identical duplicate tensors.")


def source_line(report: Any) -> Any:
    """What was inspected: the path and its format."""
    from rich.text import Text

    return Text(f"{report.source} ({report.format})", style="bold")


def totals_table(report: Any) -> Any:
    from rich.table import Table

    table = Table(show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("parameters", f"{report.parameters:,}")
    table.add_row("parameters without embeddings", f"{report.parameters_without_embeddings:,}")
    table.add_row("bytes on disk", f"{report.bytes_on_disk:,} ({_mb(report.bytes_on_disk)} MB)")
    table.add_row(
        "dtypes", ", ".join(f"{name}: {count:,}" for name, count in report.dtypes.items()) or "-"
    )
    table.add_row("tensors", f"{report.tensors:,} in {len(report.files)} file(s)")
    if report.buffers["tensors"]:
        table.add_row(
            "buffers (not counted)",
            f"{report.buffers['tensors']} tensors, {report.buffers['elements']:,} elements",
        )
    if report.quantization["tensors"]:
        table.add_row(
            "int8 scales, zero points (not counted)",
            f"{report.quantization['tensors']} tensors, "
            f"{report.quantization['elements']:,} elements",
        )
    if report.sparsity:
        table.add_row(
            "exact zeros", f"{report.sparsity['zeros']:,} ({_percent(report.sparsity['fraction'])})"
        )
    return table


def architecture_table(facts: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title="Architecture (config.json)", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in facts.items():
        if value is None:
            continue
        if key == "labels":
            value = ", ".join(value[:10]) + (
                f", … ({len(value)} in all)" if len(value) > 10 else ""
            )
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        table.add_row(key.replace("_", " "), str(value))
    return table


def breakdown_table(by: str, rows: list[Any], report: Any, sparsity: dict[str, Any] | None) -> Any:
    from rich.table import Table

    caption = (
        "outside: tensors in no transformer layer (embeddings, pooler, head)"
        if by == "layer"
        else None
    )
    table = Table(
        title=f"By {by}",
        title_justify="left",
        show_footer=True,
        caption=caption,
        caption_justify="left",
    )
    table.add_column(by, footer="total")
    layer_parts = ("attention", "feed_forward", "layer_norm") if by == "layer" else ()
    body = []
    for row in rows:
        cells = [
            row.name,
            str(row.tensors),
            f"{row.parameters:,}",
            f"{row.percent:.2f}%",
            _mb(row.bytes),
        ]
        cells += [f"{row.components[part]:,}" for part in layer_parts]
        if sparsity:
            cells.append(_percent(sparsity[row.name]["fraction"]))
        body.append(cells)
    footers = [
        str(sum(r.tensors for r in rows)),
        f"{report.parameters:,}",
        "100.00%" if report.parameters else "n/a",
        _mb(sum(r.bytes for r in rows)),
    ]
    headers = ["tensors", "parameters", "percent", "MB"]
    headers += ["attn", "ffn", "norm"][: len(layer_parts)] + (["zeros"] if sparsity else [])
    for index, header in enumerate(headers, start=1):
        footer = footers[index - 1] if index <= len(footers) else ""
        # figures are never cut: the name column wraps instead
        width = max([len(header), len(footer)] + [len(cells[index]) for cells in body])
        table.add_column(header, justify="right", footer=footer, min_width=width, no_wrap=True)
    for cells in body:
        table.add_row(*cells)
    return table


def groups_table(title: str, groups: list[list[str]]) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("tensors")
    for names in groups:
        table.add_row(" = ".join(names))
    return table


def _mb(nbytes: int) -> str:
    return f"{nbytes / 1e6:,.2f}"


def _percent(fraction: float | None) -> str:
    from emocompress.format import fmt_share

    return "<0.01%" if fraction is not None and 0 < fraction < 1e-4 else fmt_share(fraction, 2)
