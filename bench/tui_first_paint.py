"""Time to first paint of `emocompress tui` on a run directory with 20 variants.

Builds a synthetic run by copying the metrics.json / emocompress.json of a real run's
variants (default runs/quickstart) under 20 names, with macro AUC and size nudged so that
every row differs, then starts the app headless in a fresh Python process per repeat and
records, from process start (imports included):

- ``first_paint_s``: the app is running and its first screen is composed and painted
  (the table shows its loading state);
- ``rows_s``: the loader worker has read every variant and the table shows all rows;
- the same two as CPU seconds of the process (``*_cpu_s``), which a busy machine does not
  inflate.

  python bench/tui_first_paint.py                      # 20 variants, 5 repeats
  python bench/tui_first_paint.py --variants 50 --source runs/goemotions-minilm
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

START = time.perf_counter()


def build_run(source: Path, out: Path, count: int) -> Path:
    """A run directory of ``count`` variants made from the JSON files of ``source``'s."""
    variants = sorted(p for p in (source / "variants").iterdir() if (p / "metrics.json").is_file())
    if not variants:
        raise SystemExit(f"{source}: no variant with a metrics.json")
    run = out / "twenty"
    steps = {}
    for i in range(count):
        origin = variants[i % len(variants)]
        name = f"{origin.name}-{i:02d}"
        folder = run / "variants" / name
        folder.mkdir(parents=True)
        metrics = json.loads((origin / "metrics.json").read_text())
        metrics["variant"] = name
        metrics["quality"]["auc"]["macro"] -= 0.001 * i
        metrics["size"]["bytes_on_disk"] = int(metrics["size"]["bytes_on_disk"] * (1 - 0.02 * i))
        (folder / "metrics.json").write_text(json.dumps(metrics))
        shutil.copy(origin / "emocompress.json", folder / "emocompress.json")
        steps[name] = {"status": "done"}
    (run / "run.json").write_text(json.dumps({"schema": "emocompress.run/1", "steps": steps}))
    return run


async def measure(run: Path, size: tuple[int, int], count: int) -> dict[str, float]:
    from tui.app import create_app

    app = create_app([run], live=False)
    async with app.run_test(size=size) as pilot:
        first_paint = time.perf_counter() - START
        first_paint_cpu = time.process_time()  # CPU of this process: not inflated by load
        table = app.screen.query_one("#variants")
        while table.row_count < count:
            await pilot.pause(0.005)
        rows = time.perf_counter() - START
        rows_cpu = time.process_time()
    return {
        "first_paint_s": first_paint,
        "rows_s": rows,
        "first_paint_cpu_s": first_paint_cpu,
        "rows_cpu_s": rows_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default="runs/quickstart", type=Path)
    parser.add_argument("--variants", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", default="160x50", help="terminal WIDTHxHEIGHT")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # one measurement
    args = parser.parse_args()
    size = tuple(int(n) for n in args.size.split("x"))
    if args.child:
        import asyncio

        print(json.dumps(asyncio.run(measure(args.child, size, args.variants))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        run = build_run(args.source, Path(tmp), args.variants)
        results = []
        for _ in range(args.repeats):
            child = [
                sys.executable,
                __file__,
                "--child",
                str(run),
                "--variants",
                str(args.variants),
            ]
            done = subprocess.run(child + ["--size", args.size], capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(done.stderr)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for key in ("first_paint_s", "rows_s", "first_paint_cpu_s", "rows_cpu_s"):
        values = [r[key] for r in results]
        print(
            f"{key}: median {statistics.median(values):.3f} s, "
            f"min {min(values):.3f}, max {max(values):.3f} ({len(values)} runs, "
            f"{args.variants} variants, {args.size})"
        )


if __name__ == "__main__":
    main()
