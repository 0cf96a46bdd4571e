#!/usr/bin/env bash
# The GPU check: what can only be measured with a CUDA device, in one short call.
#
#   bench/gpu_check.sh prepare   here (registry access): wheels the GPU image lacks -> bench/.gpu-wheels
#   bench/gpu_check.sh run       there (no network): install them, run the checks, write $OUT/gpu.md
#
# The device tool's machine (one H200) has Python 3.12 with torch, transformers, accelerate,
# onnx, onnxruntime, safetensors, scikit-learn, rich, psutil and pyyaml; it lacks pydantic,
# textual, textual-plotext and torch-pruning, and it cannot reach any registry: `prepare`
# downloads those wheels for it. Carry bench/.gpu-wheels with the call:
#   run(command="bench/gpu_check.sh run", carry=["bench/.gpu-wheels"], timeout_s=540)
# What it checks (each prints one line into gpu.md; the tests never need a GPU):
#   1. the CUDA code paths: a tiny recipe (finetune + distil) with device: cuda, and the same
#      on the CPU; macro AUC must agree within 0.02 (different kernels, same data)
#   2. GPU memory in bench (gpu_peak_mb measured, not n/a)
#   3. RoBERTa-Large at real size (random weights from its known config): time per training
#      step and peak GPU memory at batch 32 x 128 tokens, fp32 and bf16 autocast, against
#      the dry run's training-memory estimate
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=bench/.gpu-wheels
case "${1:-}" in
prepare)
    mkdir -p "$WHEELS"
    python3 -m pip download -q --no-deps --dest "$WHEELS" --only-binary=:all: --python-version 3.12 \
        --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
        pydantic pydantic-core annotated-types typing-inspection textual textual-plotext plotext \
        torch-pruning platformdirs linkify-it-py mdit-py-plugins uc-micro-py
    python3 -m pip wheel -q --no-deps --wheel-dir "$WHEELS" .
    du -sh "$WHEELS"
    ;;
run)
    OUT="${OUT:-bench/_scratch/gpu}"
    mkdir -p "$OUT"
    python3 -m pip install -q --no-index --find-links "$WHEELS" --no-deps "$WHEELS"/*.whl
    python3 - "$OUT" <<'PY'
import json, subprocess, sys, time
from pathlib import Path

out = Path(sys.argv[1])
lines = ["# GPU check (bench/gpu_check.sh run)", ""]
import torch

lines.append(f"- device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
sys.path.insert(0, "tests")
from conftest import build_tiny_classifier, write_tiny_recipe

work = out / "work"
model = build_tiny_classifier(work / "tiny")
figures = {}
for device in ("cuda", "cpu"):
    recipe = write_tiny_recipe(work, model, name=f"tiny-{device}", extra=f"device: {device}\n")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "emocompress", "run", str(recipe), "--out",
                    str(work / device), "--quiet"], check=True)
    metrics = json.loads((work / device / "variants" / "student-1l" / "metrics.json").read_text())
    figures[device] = metrics["quality"]["auc"]["macro"]
    lines.append(f"- tiny recipe on {device}: {time.perf_counter() - started:.1f} s, "
                 f"student macro AUC {figures[device]:.4f}")
agree = abs(figures["cuda"] - figures["cpu"]) < 0.02
lines.append(f"- CUDA vs CPU macro AUC agree within 0.02: {agree}")
subprocess.run([sys.executable, "-m", "emocompress", "bench", str(work / "cuda"), "--runs", "5",
                "--warmup", "1", "--n-texts", "32"], check=True)
speed = json.loads((work / "cuda" / "variants" / "teacher" / "metrics.json").read_text())["speed"]
lines.append(f"- bench gpu_peak_mb (teacher): {speed.get('gpu_peak_mb')}")

from transformers import RobertaConfig, RobertaForSequenceClassification
from emocompress.models.known_configs import KNOWN_CONFIGS
config = RobertaConfig(**{**KNOWN_CONFIGS["roberta-large"], "num_labels": 28,
                          "problem_type": "multi_label_classification"})
large = RobertaForSequenceClassification(config).cuda()
optimizer = torch.optim.AdamW(large.parameters(), lr=1e-5)
batch = {"input_ids": torch.randint(3, 50000, (32, 128), device="cuda"),
         "attention_mask": torch.ones(32, 128, dtype=torch.long, device="cuda")}
labels = torch.randint(0, 2, (32, 28), device="cuda").float()
for precision in ("fp32", "bf16"):
    torch.cuda.reset_peak_memory_stats()
    times = []
    for step in range(6):
        torch.cuda.synchronize(); started = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(large(**batch).logits.float(), labels)
        loss.backward(); optimizer.step(); optimizer.zero_grad(set_to_none=True)
        torch.cuda.synchronize(); times.append(time.perf_counter() - started)
    peak = torch.cuda.max_memory_allocated() / 1e6
    lines.append(f"- RoBERTa-Large train step, batch 32 x 128, {precision}: median "
                 f"{sorted(times[1:])[len(times[1:]) // 2] * 1000:.0f} ms, peak GPU memory {peak:,.0f} MB")
dry = subprocess.run([sys.executable, "-m", "emocompress", "run",
                      "recipes/goemotions-roberta-large.yaml", "--dry-run"],
                     capture_output=True, text=True)
lines += ["", "Dry run (its training-memory column is the estimate to compare):", "", "```",
          dry.stdout.strip()[-3000:], "```"]
(out / "gpu.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
    ;;
*)
    echo "usage: bench/gpu_check.sh prepare|run" >&2
    exit 2
    ;;
esac
