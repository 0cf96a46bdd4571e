"""Peak memory of merging three ~1 GB checkpoints: emocompress's streaming merge against
loading all three and averaging, each in its own child process, in one run.

Makes three float32 safetensors checkpoints with the same tensor names and shapes (random
values, written tensor by tensor) in a temporary folder under /tmp, deleted afterwards.
Each child reports its own peak RSS over its whole life
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and, sampled every 5 ms by a thread with
psutil, its RSS just before the merge and the highest RSS during it (so the merge's own
working set shows even where importing torch briefly peaked higher):

- ``imports``: torch, safetensors and emocompress.ops.merge imported, nothing merged (the floor);
- ``streaming``: ``emocompress.ops.merge.engine.merge_checkpoints`` (uniform soup);
- ``load_all``: ``safetensors.torch.load_file`` of each, average, ``save_file``.

The two merged files are then compared tensor by tensor, one at a time.

  python bench/merge_memory.py                 # 3 x 1 GB, 40 tensors each
  python bench/merge_memory.py --gb 0.1 --json bench/logs/merge_memory.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = 3


def make_checkpoints(folder: Path, gb: float, tensors: int) -> list[Path]:
    import torch

    from emocompress.models.checkpoint import TensorInfo
    from emocompress.ops.merge.streaming import write_checkpoint

    rows = max(1, int(gb * 1e9 / 4 / tensors / 1024))
    layout = [
        TensorInfo(
            f"layer.{i}.weight", "float32", (rows, 1024), rows * 1024, rows * 4096, Path(), None
        )
        for i in range(tensors)
    ]
    paths = []
    for m in range(MODELS):
        path = folder / f"model{m}"
        path.mkdir()
        generator = torch.Generator().manual_seed(m)
        write_checkpoint(
            path,
            layout,
            lambda info, g=generator: torch.randn(info.shape, generator=g),
            metadata={"format": "pt"},
            max_shard_bytes=10**12,
        )
        (path / "config.json").write_text("{}")
        paths.append(path)
    return paths


class RssSampler:
    """Highest RSS of this process while the ``with`` block runs, sampled every 5 ms."""

    def __enter__(self) -> RssSampler:
        import threading

        import psutil

        self.process = psutil.Process()
        self.before = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def child(mode: str, folder: Path) -> dict:
    # import first, so that "before" holds the interpreter and its libraries
    for module in ("torch", "safetensors.torch", "emocompress.ops.merge.engine", "psutil"):
        importlib.import_module(module)
    inputs = [folder / f"model{m}" for m in range(MODELS)]
    started = time.perf_counter()
    with RssSampler() as rss:
        _merge(mode, inputs, folder)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "mode": mode,
        "peak_rss_mb": round(peak_kb * 1024 / 1e6, 1),
        "rss_before_mb": round(rss.before / 1e6, 1),
        "peak_rss_during_mb": round(rss.peak / 1e6, 1),
        "seconds": round(seconds, 2),
    }


def _merge(mode: str, inputs: list[Path], folder: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    from emocompress.ops.merge.engine import merge_checkpoints
    from emocompress.ops.merge.inputs import MergeInput
    from emocompress.ops.merge.registry import get_method

    if mode == "streaming":
        out = folder / "streaming"
        out.mkdir()
        method = get_method("uniform")
        models = [MergeInput(p.name, p) for p in inputs]
        merge_checkpoints(method, method.params(), models, out)
    elif mode == "load_all":
        out = folder / "load_all"
        out.mkdir()
        states = [load_file(str(p / "model.safetensors")) for p in inputs]
        merged = {name: torch.stack([s[name] for s in states]).mean(dim=0) for name in states[0]}
        save_file(merged, str(out / "model.safetensors"), metadata={"format": "pt"})


def run_child(mode: str, folder: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--dir", str(folder)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(folder: Path) -> float:
    """Largest absolute difference between the two merged files, read one tensor at a time."""
    from safetensors import safe_open

    worst = 0.0
    with (
        safe_open(str(folder / "streaming" / "model.safetensors"), "pt") as a,
        safe_open(str(folder / "load_all" / "model.safetensors"), "pt") as b,
    ):
        names = a.keys()
        assert set(names) == set(b.keys())
        for name in names:
            worst = max(worst, float((a.get_tensor(name) - b.get_tensor(name)).abs().max()))
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0, help="size of each checkpoint")
    parser.add_argument("--tensors", type=int, default=40, help="tensors per checkpoint")
    parser.add_argument("--json", metavar="FILE", help="also write the results here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, Path(args.dir))))
        return 0
    folder = Path(tempfile.mkdtemp(prefix="merge-memory-", dir="/tmp"))
    try:
        started = time.perf_counter()
        paths = make_checkpoints(folder, args.gb, args.tensors)
        sizes = [(p / "model.safetensors").stat().st_size for p in paths]
        print(
            f"made {MODELS} checkpoints of {sizes[0] / 1e9:.2f} GB ({args.tensors} tensors)"
            f" in {time.perf_counter() - started:.0f}s",
            flush=True,
        )
        results = []
        for mode in ("imports", "streaming", "load_all"):
            results.append(run_child(mode, folder))
            row = results[-1]
            print(
                f"{mode:>10}: peak RSS {row['peak_rss_mb']:7.1f} MB (whole process);"
                f" {row['rss_before_mb']:7.1f} MB before the merge,"
                f" {row['peak_rss_during_mb']:7.1f} MB peak during it; {row['seconds']:5.1f}s",
                flush=True,
            )
        difference = compare(folder)
        print(f"largest difference between the two merged files: {difference:.2e}")
        report = {
            "checkpoint_bytes": sizes,
            "tensors": args.tensors,
            "tensor_bytes": sizes[0] // args.tensors,
            "results": results,
            "max_abs_difference": difference,
        }
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
