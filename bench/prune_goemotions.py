"""Prune a GoEmotions student and measure it against its parent (issue 4, must-show 1 and 2).

Reads a finished run (its resolved recipe gives the data: source, tune carve, report split,
max length), copies the parent variant into a separate output run directory (the source
run is never written), makes pruned variants with emocompress's prune operation, evaluates
them with emocompress.measure.evaluation.evaluate_variant on the same DataContext (recovery trains
on a seeded slice of train; tune and report are the run's), checks how each reloads, then
times parent and variants in one `emocompress bench` call. Vocabulary pruning is checked
for identical logits on the dev texts.

  python bench/prune_goemotions.py --run /work/runs/goemotions-minilm --parent student-3l \
      --out /work/runs/prune-bench --train-examples 4000

Writes OUT/prune-bench.json and prints the Markdown tables that bench/prune.md records.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emocompress.artifacts.atomic import atomic_dir, write_json
from emocompress.artifacts.rundir import RunDir, VariantDir
from emocompress.artifacts.schema import Lineage
from emocompress.data.context import DataContext
from emocompress.measure.evaluation import evaluate_variant
from emocompress.measure.inference import predict_logits
from emocompress.models.classifier import load_classifier, load_tokenizer
from emocompress.ops.context import OpContext
from emocompress.ops.prune.operation import PruneSettings
from emocompress.ops.prune.pipeline import prune_variant
from emocompress.progress import Reporter

VARIANTS: dict[str, dict[str, Any]] = {
    # must-show 1: heads and FFN at 50%, uniform
    "heads50-ffn50": {"heads": 0.5, "ffn": 0.5},
    # what plain from_pretrained can load: FFN alone, or heads + hidden + FFN at one share
    "ffn50": {"ffn": 0.5},
    "heads50-hidden50-ffn50": {"heads": 0.5, "hidden": 0.5, "ffn": 0.5},
}


def data_of(run: Path, train_examples: int | None) -> DataContext:
    import yaml

    recipe = yaml.safe_load((run / "recipe.yaml").read_text(encoding="utf-8"))
    data, caps = recipe["data"], dict(recipe["data"].get("max_examples") or {})
    if train_examples:
        caps["train"] = train_examples  # seeded subsample; tune and report stay the run's
    return DataContext(
        source=str(data["source"]),
        train=data["train"],
        tune=data["tune"],
        report=data["report"],
        max_length=data["max_length"],
        max_examples=caps,
        seed=recipe["seed"],
    )


def make_variant(
    out: RunDir, parent: str, name: str, settings: PruneSettings, data: DataContext, reporter
) -> dict[str, Any]:
    if out.variant(name).is_complete():  # made by an earlier call: reuse it
        return out.variant(name).load_lineage().facts
    started = time.perf_counter()
    with atomic_dir(out.variant(name).path) as tmp:
        ctx = OpContext(
            run=out,
            variant=name,
            out_dir=tmp,
            data=data,
            parent_name=parent,
            parent_path=out.variant(parent).path,
            seed=data.seed,
            reporter=reporter,
        )
        facts = prune_variant(ctx, settings)
        VariantDir(tmp).write_lineage(
            Lineage(
                name=name,
                parent=parent,
                operation="prune",
                settings=settings.model_dump(mode="json"),
                shape_plan=facts.pop("shape_plan", None),
                facts=facts,
            )
        )
        extra = {"training": facts["training"]} if "training" in facts else None
        evaluate_variant(tmp, data, name=name, reporter=reporter, extra=extra)
    facts["seconds"] = round(time.perf_counter() - started, 1)
    return facts


def plain_reload(path: Path) -> str:
    from transformers import AutoModelForSequenceClassification

    try:
        AutoModelForSequenceClassification.from_pretrained(str(path))
    except (RuntimeError, ValueError) as exc:
        return "fails: " + str(exc).strip().splitlines()[0][:100]
    return "ok"


def vocab_check(out: RunDir, parent: str, name: str, data: DataContext) -> dict[str, Any]:
    """Logits of parent and vocabulary-pruned variant on every report text. A text is covered
    when both tokenizers split it into the same tokens (the pruned one lacks none of them)."""
    texts = list(data.split("report").texts)
    kw = {"batch_size": 64, "max_length": data.max_length}
    paths = (out.variant(parent).path, out.variant(name).path)
    tokenizers = [load_tokenizer(p) for p in paths]
    before, after = (
        predict_logits(load_classifier(p), t, texts, **kw)
        for p, t in zip(paths, tokenizers, strict=True)
    )
    tokens = [
        [
            t.convert_ids_to_tokens(ids)
            for ids in t(texts, truncation=True, max_length=data.max_length)["input_ids"]
        ]
        for t in tokenizers
    ]
    covered = np.array([a == b for a, b in zip(*tokens, strict=True)])
    diff = np.abs(after - before).max(axis=1)
    return {
        "report_texts": len(texts),
        "covered_texts": int(covered.sum()),
        "max_abs_logit_diff_covered": float(diff[covered].max()) if covered.any() else None,
        "max_abs_logit_diff_all": float(diff.max()),
    }


def interleaved_latency(
    out: RunDir, names: list[str], data: DataContext, repeats: int = 15
) -> dict[str, dict[str, float]]:
    """Forward time of one batch of 32 report texts (tokenised beforehand), the models taking
    turns so that load from other processes hits them alike; median and min over repeats."""
    texts = list(data.split("report").texts[:32])
    models = {n: load_classifier(out.variant(n).path) for n in names}
    batches = {
        n: load_tokenizer(out.variant(n).path)(
            texts, padding=True, truncation=True, max_length=data.max_length, return_tensors="pt"
        )
        for n in names
    }
    times: dict[str, list[float]] = {n: [] for n in names}
    with torch.inference_mode():
        for n in names:  # warm-up
            models[n](**batches[n])
        for _ in range(repeats):
            for n in names:
                started = time.perf_counter()
                models[n](**batches[n])
                times[n].append((time.perf_counter() - started) * 1000)
    return {
        n: {"median_ms": round(float(np.median(t)), 1), "min_ms": round(min(t), 1)}
        for n, t in times.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, type=Path, help="finished run directory")
    parser.add_argument("--parent", default="student-3l", help="variant of --run to prune")
    parser.add_argument("--out", required=True, type=Path, help="output run directory")
    parser.add_argument("--train-examples", type=int, default=4000, help="recovery slice")
    parser.add_argument("--epochs", type=float, default=1.0, help="recovery epochs")
    parser.add_argument("--recovery", default="distil", choices=("finetune", "distil", "none"))
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated")
    parser.add_argument("--skip-bench", action="store_true")
    args = parser.parse_args(argv)

    torch.set_num_threads(2)
    reporter = Reporter()
    source = RunDir(args.run)
    if not source.variant(args.parent).is_complete():
        raise SystemExit(f"{args.run}: variant {args.parent!r} is not finished")
    out = RunDir(args.out)
    out.root.mkdir(parents=True, exist_ok=True)
    shutil.copy(args.run / "recipe.yaml", out.root / "recipe.yaml")
    parent_copy = out.variant(args.parent).path
    if not parent_copy.exists():
        shutil.copytree(source.variant(args.parent).path, parent_copy)
    data = data_of(args.run, args.train_examples)
    results: dict[str, Any] = {
        "run": str(args.run),
        "parent": args.parent,
        "data": data.describe(),
        "recovery": {"mode": args.recovery, "epochs": args.epochs},
        "variants": {},
    }
    recovery = {"mode": args.recovery, "epochs": args.epochs, "batch_size": 32, "lr": 1e-4}
    for name in [n for n in args.variants.split(",") if n]:
        settings = PruneSettings(**VARIANTS[name], recovery=recovery)
        results["variants"][name] = make_variant(out, args.parent, name, settings, data, reporter)
    # must-show 2: vocabulary of the train split (no recovery: train texts are unchanged),
    # and of every text the run uses (then every report text is covered)
    full_train = data_of(args.run, None)
    for name, corpus in (("vocab-train", ["train"]), ("vocab-all", ["train", "tune", "report"])):
        vocab = PruneSettings(vocab={"corpus": corpus}, recovery={"mode": "none"})
        results["variants"][name] = make_variant(
            out, args.parent, name, vocab, full_train, reporter
        )
        results.setdefault("vocab_check", {})[name] = vocab_check(
            out, args.parent, name, full_train
        )

    for name in [args.parent, *results["variants"]]:
        metrics = out.variant(name).load_metrics().to_json()
        entry = results["variants"].setdefault(name, {})
        entry["macro_auc"] = metrics["quality"]["auc"]["macro"]
        entry["size"] = {
            k: metrics["size"][k]
            for k in ("parameters", "parameters_without_embeddings", "bytes_on_disk")
        }
        entry["plain_from_pretrained"] = plain_reload(out.variant(name).path)
    results["interleaved_b32"] = interleaved_latency(out, list(results["variants"]), data)
    if not args.skip_bench:
        command = [
            sys.executable,
            "-m",
            "emocompress",
            "bench",
            str(out.root),
            "--baseline",
            args.parent,
            "--threads",
            "2",
            "--runs",
            "30",
        ]
        subprocess.run(command, check=True)
        for name, entry in results["variants"].items():
            entry["speed"] = out.variant(name).load_metrics().to_json().get("speed")
    write_json(out.root / "prune-bench.json", results)
    print(markdown(results))
    return 0


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| variant | params | params w/o emb | MB | dev macro-AUC | Δ vs parent | "
        "p50 b1 ms | p50 b32 ms | speedup b32 | b32 forward median/min ms (interleaved) | "
        "plain from_pretrained |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    parent = results["variants"][results["parent"]]
    for name, entry in results["variants"].items():
        torch_speed = ((entry.get("speed") or {}).get("runtimes") or {}).get("pytorch") or {}
        b1 = ((torch_speed.get("batches") or {}).get("1") or {}).get("p50_ms")
        b32 = ((torch_speed.get("batches") or {}).get("32") or {}).get("p50_ms")
        inter = results.get("interleaved_b32", {}).get(name, {})
        lines.append(
            f"| {name} | {entry['size']['parameters']:,} | "
            f"{entry['size']['parameters_without_embeddings']:,} | "
            f"{entry['size']['bytes_on_disk'] / 1e6:.1f} | {entry['macro_auc']:.4f} | "
            f"{entry['macro_auc'] - parent['macro_auc']:+.4f} | "
            f"{b1 if b1 is None else f'{b1:.1f}'} | {b32 if b32 is None else f'{b32:.1f}'} | "
            f"{(torch_speed.get('speedup') or {}).get('32')} | "
            f"{inter.get('median_ms')} / {inter.get('min_ms')} | {entry['plain_from_pretrained']} |"
        )
    for name, check in results.get("vocab_check", {}).items():
        facts = results["variants"][name].get("vocab") or {}
        lines += ["", f"{name}: {json.dumps(facts)}", f"report-text logits: {json.dumps(check)}"]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
