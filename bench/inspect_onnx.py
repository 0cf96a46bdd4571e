"""Benchmark ``emocompress inspect`` on an ONNX graph (fp32 or int8) against ``onnx.load``.

    python bench/inspect_onnx.py                                   # runs/quickstart's int8 graph
    python bench/inspect_onnx.py --file runs/x/variants/v/model.onnx --runs 9

Prints, as medians of subprocess wall times (interpreter start-up included): ``emocompress
inspect FILE --json``, the same with rich tables, a bare ``python -c pass``, and the baseline
measured in the same call: reading the same initializers through ``onnx.load`` (what inspect
did before it read the protobuf itself). It also checks that both readers list the same
tensors, and prints the parameter count and what was set apart.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ONNX_LOAD = (
    "import sys; from pathlib import Path; from emocompress.models import checkpoint as c; "
    "f = Path(sys.argv[1]); c._onnx_infos(f, c._load_onnx(f))"
)


def wall(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=os.environ)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default="runs/quickstart/variants/student-int8/model.onnx")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    file = Path(args.file)
    entry = [sys.executable, "-m", "emocompress"]
    cases = {
        "emocompress inspect FILE --json": [*entry, "inspect", str(file), "--json"],
        "emocompress inspect FILE (tables)": [*entry, "inspect", str(file)],
        "python -c pass": [sys.executable, "-c", "pass"],
        "baseline: onnx.load + the same listing": [sys.executable, "-c", ONNX_LOAD, str(file)],
    }
    print(f"file: {file} ({file.stat().st_size:,} bytes), {args.runs} runs each")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for name, argv in cases.items():
        times = wall(argv, args.runs)
        shown = ", ".join(f"{t * 1000:.0f}" for t in times)
        print(f"{name}: median {statistics.median(times) * 1000:.0f} ms ({shown} ms)")
    from emocompress.models import checkpoint
    from emocompress.models.inspect import inspect_checkpoint

    same = checkpoint._read_onnx(file) == checkpoint._onnx_infos(file, checkpoint._load_onnx(file))
    report = inspect_checkpoint(file)
    print(f"same tensors as onnx.load: {same}")
    print(
        json.dumps(
            {
                "parameters": report.parameters,
                "quantization": report.quantization,
                "buffers": report.buffers,
            }
        )
    )


if __name__ == "__main__":
    main()
