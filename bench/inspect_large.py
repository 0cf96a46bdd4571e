"""Benchmark ``emocompress inspect`` on a multi-GB safetensors file made for the purpose.

The file is a float16 "transformer" of about 2.6 billion parameters (embeddings, 32 encoder
layers, a classifier). Only its header is written; the data section is made by extending the
file with ``truncate``, so on file systems with sparse files it costs no disk space and
reading the header is the only I/O ``inspect`` does.

    python bench/inspect_large.py                 # writes under bench/_scratch/ (git-ignored)
    python bench/inspect_large.py --dir /tmp/x --runs 9

Prints the command, the wall time of ``emocompress inspect FILE --json`` as a subprocess
(median of several runs, interpreter start-up included), a bare ``python -c pass`` for
comparison, and the in-process time of ``list_tensors`` and ``size_summary``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HIDDEN, FFN, LAYERS, VOCAB, POSITIONS, LABELS = 2560, 10240, 32, 50_000, 2048, 28


def tensor_shapes() -> dict[str, list[int]]:
    shapes = {
        "model.embeddings.word_embeddings.weight": [VOCAB, HIDDEN],
        "model.embeddings.position_embeddings.weight": [POSITIONS, HIDDEN],
        "model.embeddings.LayerNorm.weight": [HIDDEN],
        "model.embeddings.LayerNorm.bias": [HIDDEN],
    }
    for i in range(LAYERS):
        layer = f"model.encoder.layer.{i}"
        for proj in ("query", "key", "value"):
            shapes[f"{layer}.attention.self.{proj}.weight"] = [HIDDEN, HIDDEN]
            shapes[f"{layer}.attention.self.{proj}.bias"] = [HIDDEN]
        shapes[f"{layer}.attention.output.dense.weight"] = [HIDDEN, HIDDEN]
        shapes[f"{layer}.attention.output.dense.bias"] = [HIDDEN]
        shapes[f"{layer}.intermediate.dense.weight"] = [FFN, HIDDEN]
        shapes[f"{layer}.intermediate.dense.bias"] = [FFN]
        shapes[f"{layer}.output.dense.weight"] = [HIDDEN, FFN]
        shapes[f"{layer}.output.dense.bias"] = [HIDDEN]
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[f"{layer}.{norm}.weight"] = [HIDDEN]
            shapes[f"{layer}.{norm}.bias"] = [HIDDEN]
    shapes["classifier.weight"] = [LABELS, HIDDEN]
    shapes["classifier.bias"] = [LABELS]
    return shapes


def write_sparse_safetensors(file: Path) -> tuple[int, int]:
    """Write the header, then extend the file to full size without writing data."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = parameters = 0
    for name, shape in tensor_shapes().items():
        numel = 1
        for dim in shape:
            numel *= dim
        header[name] = {
            "dtype": "F16",
            "shape": shape,
            "data_offsets": [offset, offset + 2 * numel],
        }
        offset += 2 * numel
        parameters += numel
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the format pads the header to 8-byte alignment
    file.parent.mkdir(parents=True, exist_ok=True)
    with open(file, "wb") as handle:
        handle.write(struct.pack("<Q", len(raw)) + raw)
        handle.truncate(8 + len(raw) + offset)
    return parameters, file.stat().st_size


def median_seconds(action: Callable[[], object], runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def inspect_command(file: Path) -> list[str]:
    script = shutil.which("emocompress")
    prefix = [script] if script else [sys.executable, "-m", "emocompress"]
    return [*prefix, "inspect", str(file), "--json"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dir", type=Path, default=Path(__file__).parent / "_scratch", help="scratch folder"
    )
    parser.add_argument("--runs", type=int, default=7, help="timed runs per measurement")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    args = parser.parse_args()

    from emocompress.models.checkpoint import list_tensors
    from emocompress.models.inspect import size_summary

    file = args.dir / "large-f16.safetensors"
    parameters, size = write_sparse_safetensors(file)
    allocated = file.stat().st_blocks * 512
    print(
        f"file: {file}  {size / 1e9:.2f} GB apparent, {allocated / 1e6:.1f} MB allocated, "
        f"{parameters:,} parameters, {len(tensor_shapes())} tensors"
    )
    try:
        command = inspect_command(file)
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        assert json.loads(output)["parameters"] == parameters
        for timed in (command, command[:-1]):  # JSON, then the rich tables
            cli, runs = median_seconds(
                lambda c=timed: subprocess.run(c, check=True, capture_output=True), args.runs
            )
            print(f"command: {' '.join(timed)}")
            print(
                f"  wall, median of {args.runs}: {cli * 1000:.0f} ms  (runs: {', '.join(f'{t * 1000:.0f}' for t in runs)} ms)"
            )
        bare, _ = median_seconds(
            lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), args.runs
        )
        listing, _ = median_seconds(lambda: list_tensors(file), args.runs)
        summary, _ = median_seconds(lambda: size_summary(file), args.runs)
        print(f"python -c pass (interpreter start-up), median: {bare * 1000:.0f} ms")
        print(f"in-process list_tensors, median: {listing * 1000:.1f} ms")
        print(f"in-process size_summary, median: {summary * 1000:.1f} ms")
    finally:
        if not args.keep:
            file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
