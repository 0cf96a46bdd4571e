"""Must-show 1 of the benchmark issue: the GoEmotions teacher and its 3-layer student in
PyTorch, ONNX Runtime fp32 and ONNX Runtime int8, measured in one bench call.

Waits for nothing: it refuses to start unless the run's run.json says "finished" (so it does
not compete for the CPU with training). The run directory is only read: teacher and
student-3l are copied to --out, their fp32 exports and int8 (dynamic, per-channel) copies
are made there by the project's own runner (ops export and quantize, with their parity and
AUC checks and a full evaluation), then one bench call measures all six. Prints the table
and the gap to each target; --json writes every figure.

  python bench/speed_goemotions.py [--run /work/runs/goemotions-minilm] [--out DIR]
      [--runs 50] [--threads N] [--json bench/logs/speed_goemotions.json]

Targets (issue 5): the int8 student >= 8x the teacher's PyTorch throughput at batch 32,
<= 25% of its bytes on disk, macro-AUC >= 99% of the teacher's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import yaml

RUN = Path("/work/runs/goemotions-minilm")
STUDENT = "student-3l"
KEEP = ("teacher", STUDENT)
MADE = {  # variant -> (op, parent, settings)
    "teacher-onnx": ("export", "teacher", {}),
    "teacher-int8": ("quantize", "teacher-onnx", {"precision": "int8-dynamic"}),
    f"{STUDENT}-onnx": ("export", STUDENT, {}),
    f"{STUDENT}-int8": ("quantize", f"{STUDENT}-onnx", {"precision": "int8-dynamic"}),
}


def prepare(run: Path, out: Path) -> Path:
    """A copy of the run's teacher and student with their ONNX variants made by the runner."""
    from emocompress.progress import Reporter
    from emocompress.recipe.loading import load_recipe
    from emocompress.run.runner import run_recipe

    state = json.loads((run / "run.json").read_text())
    if state.get("status") != "finished":
        sys.exit(f"{run} is not finished (status {state.get('status')!r}); try again later")
    out.mkdir(parents=True, exist_ok=True)
    for name in KEEP:
        if not (out / "variants" / name).is_dir():
            shutil.copytree(run / "variants" / name, out / "variants" / name)
    recipe = yaml.safe_load((run / "recipe.yaml").read_text())
    recipe["variants"] = [v for v in recipe["variants"] if v["name"] in KEEP] + [
        {"name": name, "op": op, "parent": parent, "settings": settings}
        for name, (op, parent, settings) in MADE.items()
    ]
    recipe_file = out / "speed-recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(recipe, sort_keys=False))
    loaded = load_recipe(recipe_file)
    # a second call keeps the ONNX variants the first one made
    made = out / "run.json"
    adopt(json.loads(made.read_text()) if made.is_file() else state, loaded, out)
    run_recipe(loaded, out, resume=True, reporter=Reporter(), variants=list(MADE))
    return out


def adopt(state: dict, recipe: object, out: Path) -> None:
    """Mark the copied teacher and student as done under today's step hashes, so the runner
    reuses them instead of retraining (the hash formula may have changed since the run)."""
    from emocompress.run.runner import step_hash

    hashes: dict[str, str] = {}
    for step in recipe.steps():
        hashes[step.name] = step_hash(step, hashes, recipe)
        if step.name in KEEP:
            state["steps"][step.name]["hash"] = hashes[step.name]
    (out / "run.json").write_text(json.dumps(state, indent=2))


def targets(bench: dict, out: Path) -> list[dict]:
    """Each target of the issue: the figure, the bound, whether it is met, the gap."""
    from emocompress.artifacts.rundir import RunDir

    run = RunDir(out)
    teacher, student = (
        run.variant("teacher").load_metrics().to_json(),
        run.variant(f"{STUDENT}-int8").load_metrics().to_json(),
    )
    int8 = bench["variants"][f"{STUDENT}-int8"]["speed"]["runtimes"]["onnx_int8"]
    rows = [
        ("throughput vs teacher PyTorch, batch 32", int8["speedup"]["32"], 8.0, ">="),
        (
            "bytes on disk / teacher's",
            student["size"]["bytes_on_disk"] / teacher["size"]["bytes_on_disk"],
            0.25,
            "<=",
        ),
        (
            "macro-AUC / teacher's",
            student["quality"]["auc"]["macro"] / teacher["quality"]["auc"]["macro"],
            0.99,
            ">=",
        ),
    ]
    return [
        {
            "target": name,
            "value": value,
            "bound": bound,
            "met": value >= bound if sense == ">=" else value <= bound,
            # how far the figure must still move to meet the bound (0 when met)
            "gap": max(0.0, bound - value) if sense == ">=" else max(0.0, value - bound),
            "sense": sense,
        }
        for name, value, bound, sense in rows
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=RUN)
    parser.add_argument("--out", type=Path, default=None, help="default: <run>-speed")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from rich.console import Console

    from emocompress.artifacts.rundir import RunDir
    from emocompress.cli.commands.bench import speed_table
    from emocompress.measure.bench.settings import BenchSettings
    from emocompress.measure.bench.speed import run_bench
    from emocompress.progress import Reporter

    out = prepare(args.run, args.out or args.run.with_name(args.run.name + "-speed"))
    settings = BenchSettings(
        variants=[*KEEP, *MADE],
        baseline="teacher",
        runs=args.runs,
        warmup=args.warmup,
        threads=args.threads,
    )
    bench = run_bench(settings, RunDir(out), Reporter())
    console = Console(width=180)
    console.print(speed_table(bench))
    gaps = targets(bench, out)
    for row in gaps:
        mark = "met" if row["met"] else f"missed by {row['gap']:.3g}"
        console.print(
            f"{row['target']}: {row['value']:.3f} ({row['sense']} {row['bound']}): {mark}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"bench": bench, "targets": gaps}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
