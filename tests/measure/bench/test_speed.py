"""The bench: tiny real models in PyTorch and ONNX form, each measured in its own process.

Timed loops are a few runs long and nothing asserts how fast anything is: only structure,
ordering, exact ratios and errors.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from emocompress.artifacts.jsonfile import read_json_object as read_json
from emocompress.artifacts.rundir import RunDir, VariantDir
from emocompress.artifacts.schema import BenchFile, Lineage, Metrics
from emocompress.cli import main
from emocompress.errors import UserError
from emocompress.measure.bench.settings import BenchSettings
from emocompress.measure.bench.speed import (
    Target,
    bench_batches,
    choose_baseline,
    find_targets,
    run_bench,
    run_child,
    runtime_of,
    sample_texts,
    time_batches,
)
from emocompress.measure.flops import EncoderShape, flops_per_text, text_flops
from emocompress.progress import Reporter

SETTINGS = BenchSettings(batch_sizes=[1, 4], runs=3, warmup=1, texts=8)


def onnx_variant(parent: Path, out: Path, precision: str = "fp32") -> Path:
    """An exported (fp32) or quantised copy of ``parent`` made by the export engineer's code,
    with the lineage the runner would write."""
    from emocompress.ops.onnx.export import export_classifier
    from emocompress.ops.onnx.quantize import quantize_variant

    if precision == "fp32":
        facts = export_classifier(parent, out, max_length=32)
    else:
        facts = quantize_variant(parent, out, precision)
    variant = VariantDir(out)
    variant.write_lineage(
        Lineage(name=out.name, parent=parent.name, operation="export", format="onnx", facts=facts)
    )
    variant.write_metrics(Metrics(variant=out.name))
    return out


@pytest.fixture(scope="module")
def bench_run(tiny_run, tmp_path_factory):
    """A copy of the tiny run plus ONNX fp32 and int8 exports of its student, benched."""
    root = tmp_path_factory.mktemp("bench") / "tiny"
    shutil.copytree(tiny_run, root)
    variants = root / "variants"
    onnx_variant(variants / "student-1l", variants / "student-1l-onnx")
    onnx_variant(variants / "student-1l-onnx", variants / "student-1l-int8", "int8-dynamic")
    result = run_bench(SETTINGS, RunDir(root), Reporter("quiet"))
    return root, result.to_json()


def test_every_variant_has_its_runtime_and_ordered_figures(bench_run) -> None:
    root, result = bench_run
    runtimes = {name: list(v["speed"]["runtimes"]) for name, v in result["variants"].items()}
    assert runtimes == {
        "teacher": ["pytorch"],
        "student-1l": ["pytorch"],
        "student-1l-int8": ["onnx_int8"],
        "student-1l-onnx": ["onnx_fp32"],
    }
    assert result["baseline"] == "teacher"  # the recipe's reference
    int8 = result["variants"]["student-1l-int8"]["speed"]["runtimes"]["onnx_int8"]
    assert int8["precision"] == "int8-dynamic"
    assert result["machine"]["cores"] >= 1 and result["machine"]["cpu"]
    assert result["limit"]["fp32_gflops"] > 0 and result["limit"]["int8_gops"] > 0
    for entry in result["variants"].values():
        for figures in entry["speed"]["runtimes"].values():
            for size in (1, 4):
                batch = figures["batches"][str(size)]
                assert 0 < batch["p50_ms"] <= batch["p95_ms"] <= batch["p99_ms"]
                assert batch["texts_per_s"] > 0 and batch["runs"] == 3
            assert figures["peak_rss_mb"] > 10
            assert figures["gpu_peak_mb"] is None  # no GPU here: null, never 0
            assert figures["threads"] == result["machine"]["threads"]
            assert 0 < figures["share_of_limit"] < 1


def test_speedups_are_ratios_to_the_baseline_in_the_same_call(bench_run) -> None:
    _, result = bench_run
    speeds = {n: v["speed"]["runtimes"] for n, v in result["variants"].items()}
    teacher = speeds["teacher"]["pytorch"]
    assert teacher["speedup"] == {"1": 1.0, "4": 1.0}
    for runtimes in speeds.values():
        for figures in runtimes.values():
            for size in (1, 4):
                key = str(size)
                mine, theirs = figures["batches"][key], teacher["batches"][key]
                expected = mine["texts_per_s"] / theirs["texts_per_s"]
                assert figures["speedup"][key] == pytest.approx(expected, rel=1e-12)


def test_results_are_written_to_metrics_and_bench_json(bench_run) -> None:
    root, result = bench_run
    run = RunDir(root)
    assert run.load_bench().to_json() == result
    metrics = run.variant("student-1l").load_metrics()
    assert metrics.speed.model_dump(mode="json") == result["variants"]["student-1l"]["speed"]
    assert metrics.quality.auc.macro is not None  # other sections kept
    assert result["settings"] == SETTINGS.model_dump(mode="json")


def test_flops_per_text_matches_the_hand_formula(tiny_classifier, tiny_pooled_classifier) -> None:
    shape = EncoderShape.from_config(read_json(tiny_classifier / "config.json"))
    # per layer: 2n(3·32·32 + 32·32 + 2·32·64) + 4n²·32; head: pooler 2·32² + classifier 2·32·28
    per_text = lambda n: 2 * (2 * n * (3072 + 1024 + 4096) + 128 * n * n) + 2048 + 1792  # noqa: E731
    assert text_flops(shape, 10) == per_text(10)
    assert flops_per_text(shape, [4, 10]) == (per_text(4) + per_text(10)) / 2
    pooled = EncoderShape.from_config(read_json(tiny_pooled_classifier / "config.json"))
    assert text_flops(pooled, 10) == per_text(10) - 2048  # mean pooling: no pooler dense


def test_recorded_flops_use_the_variants_token_lengths(bench_run, tiny_classifier) -> None:
    from emocompress.data.readers import load_splits
    from emocompress.models.classifier import load_tokenizer

    root, result = bench_run
    texts = sample_texts(load_splits("demo")["dev"].texts, SETTINGS.texts)
    assert result["texts"]["count"] == len(texts)
    encoded = load_tokenizer(root / "variants" / "student-1l")(
        texts, truncation=True, max_length=32
    )
    shape = EncoderShape.from_config(read_json(root / "variants" / "student-1l" / "config.json"))
    expected = flops_per_text(shape, [len(ids) for ids in encoded["input_ids"]])
    for name in ("student-1l", "student-1l-onnx", "student-1l-int8"):
        assert result["variants"][name]["speed"]["flops_per_text"] == pytest.approx(expected)


def test_time_batches_walks_the_plan_in_order_and_wraps() -> None:
    seen: list[list[str]] = []
    plan = bench_batches(np.array([1, 1, 1]), 2, "plain")
    assert [b.tolist() for b in plan] == [[0, 1], [2, 0]]  # wraps to fill the last batch
    figures, timed = time_batches(seen.append, ["a", "b", "c"], plan, runs=3, warmup=1)
    assert seen == [["a", "b"], ["c", "a"], ["a", "b"], ["c", "a"]]
    assert [b.tolist() for b in timed] == [[2, 0], [0, 1], [2, 0]]  # the warm-up is not timed
    assert 0 < figures.p50_ms <= figures.p95_ms <= figures.p99_ms
    assert figures.runs == 3


def test_bucketed_plan_sorts_by_length_and_shuffles_batches() -> None:
    lengths = np.array([5, 1, 9, 3, 7, 2, 8, 4])
    plan = bench_batches(lengths, 2, "bucketed")
    assert sorted(np.concatenate(plan).tolist()) == list(range(8))
    pairs = sorted(sorted(lengths[b].tolist()) for b in plan)
    assert pairs == [[1, 2], [3, 4], [5, 7], [8, 9]]  # neighbours in length share a batch
    assert [lengths[b].max() for b in plan] != [9, 7, 4, 2]  # not longest first: shuffled
    assert [b.tolist() for b in plan] == [b.tolist() for b in bench_batches(lengths, 2, "bucketed")]


def test_every_cell_counts_padding_flops_and_its_own_limit(bench_run) -> None:
    root, result = bench_run
    limit = result["limits"][0]
    assert limit["onnx_fp32_gflops"] > 0 and result["limit"] == limit
    assert result["machine"]["cpu_flags"] is not None  # the ISA flags go with every result
    teacher = result["variants"]["teacher"]["speed"]["runtimes"]["pytorch"]
    ceilings = {"pytorch": "fp32_gflops", "onnx_fp32": "onnx_fp32_gflops", "onnx_int8": "int8_gops"}
    for entry in result["variants"].values():
        useful = entry["speed"]["flops_per_text"]
        for runtime, figures in entry["speed"]["runtimes"].items():
            assert figures["mode"] == "bucketed"  # the headline figures
            cells = {(r["threads"], r["mode"]): r["batches"] for r in figures["grid"]}
            threads = result["machine"]["threads"]
            assert set(cells) == {(threads, "plain"), (threads, "bucketed")}
            assert figures["batches"] == cells[(threads, "bucketed")]
            for (_, mode), batches in cells.items():
                base = next(r for r in teacher["grid"] if r["mode"] == mode)["batches"]
                for size, cell in batches.items():
                    assert 0 <= cell["padding_share"] < 1
                    assert cell["flops_per_text"] > 0 and useful > 0
                    expected = cell["flops_per_text"] * cell["texts_per_s"] / 1e9
                    assert cell["achieved_gflops"] == pytest.approx(expected)
                    share = cell["achieved_gflops"] / limit[ceilings[runtime]]
                    assert cell["share_of_limit"] == pytest.approx(share)
                    speedup = cell["texts_per_s"] / base[size]["texts_per_s"]
                    assert cell["speedup"] == pytest.approx(speedup)
            # one text a batch: nothing to pad, and exactly the useful work
            assert cells[(threads, "plain")]["1"]["padding_share"] == 0
            plain, bucketed = cells[(threads, "plain")]["4"], cells[(threads, "bucketed")]["4"]
            assert bucketed["padding_share"] <= plain["padding_share"]
            assert bucketed["tokens_per_text"] <= plain["tokens_per_text"]
            top = figures["batches"]["4"]
            assert figures["share_of_limit"] == top["share_of_limit"]
            assert figures["speedup"] == {k: b["speedup"] for k, b in figures["batches"].items()}


def test_padding_and_flops_count_the_padded_width(bench_run) -> None:
    """Chosen timed batches: two texts of 6 and 10 tokens padded to 10, twice."""
    from emocompress.artifacts.schema import BatchLatency, MachineLimit, RuntimeSpeed, SpeedRun
    from emocompress.measure.bench.speed import Measured, speed_sections

    root, _ = bench_run
    target = Target("student-1l", root / "variants" / "student-1l", "pytorch")
    cell = BatchLatency(p50_ms=1.0, texts_per_s=1000.0, runs=2)
    grid = [SpeedRun(threads=1, mode="plain", batches={2: cell})]
    runtime = RuntimeSpeed(batches={2: cell}, threads=1, grid=grid)
    timed = {(1, "plain", 2): [(2, 10, 16), (2, 10, 16)]}
    limit = MachineLimit(threads=1, fp32_gflops=100.0)
    sections = speed_sections(
        [target],
        {"student-1l": {"pytorch": Measured(runtime, [6, 10], timed)}},
        "student-1l",
        [limit],
        BenchSettings(batch_sizes=[2], threads=[1], modes=["plain"]),
    )
    shape = EncoderShape.from_config(read_json(target.path / "config.json"))
    got = sections["student-1l"].runtimes["pytorch"].batches[2]
    assert got.tokens_per_text == 10 and got.padding_share == pytest.approx(4 / 20)
    assert got.flops_per_text == text_flops(shape, 10)
    assert sections["student-1l"].flops_per_text == flops_per_text(shape, [6, 10])
    assert got.achieved_gflops == pytest.approx(text_flops(shape, 10) * 1000 / 1e9)
    assert got.share_of_limit == pytest.approx(got.achieved_gflops / 100.0)
    assert got.speedup == 1.0


def test_text_sample_is_seeded_and_may_repeat() -> None:
    pool = [f"text {i}" for i in range(5)] + ["   "]
    assert sample_texts(pool, 4) == sample_texts(pool, 4)
    assert len(sample_texts(pool, 12)) == 12 and "   " not in sample_texts(pool, 12)
    with pytest.raises(UserError, match="no non-empty texts"):
        sample_texts(["", " "], 3)


def test_bad_inputs_are_user_errors(tiny_classifier, tmp_path) -> None:
    with pytest.raises(UserError, match="no variant or run directory"):
        find_targets([])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no model to measure"):
        find_targets([tmp_path / "empty"])
    with pytest.raises(UserError, match="not a directory"):
        find_targets([tmp_path / "missing"])
    targets = find_targets([tiny_classifier])
    with pytest.raises(UserError, match="baseline 'ghost' is not among"):
        choose_baseline(targets, "ghost", None)
    with pytest.raises(ValueError, match="batch sizes repeat"):
        BenchSettings(batch_sizes=[1, 1])
    with pytest.raises(ValueError, match="extra"):
        BenchSettings(repeats=3)


def test_unknown_precision_and_unknown_variant(bench_run, tmp_path) -> None:
    root, _ = bench_run
    onnx = shutil.copytree(root / "variants" / "student-1l-onnx", tmp_path / "odd")
    variant = VariantDir(onnx)
    odd = variant.load_lineage().model_copy(update={"facts": {"precision": "int3"}})
    variant.write_lineage(odd)
    with pytest.raises(UserError, match="unknown ONNX precision 'int3'"):
        runtime_of(onnx)
    with pytest.raises(UserError, match="no finished variant named ghost"):
        run_bench(BenchSettings(variants=["ghost"]), RunDir(root), Reporter("quiet"))


def test_a_broken_model_fails_in_the_child_as_a_user_error(tmp_path, bench_run) -> None:
    root, _ = bench_run
    broken = shutil.copytree(root / "variants" / "student-1l-onnx", tmp_path / "broken")
    (broken / "model.onnx").write_bytes(b"not an onnx graph")
    job = {"kind": "measure", "path": str(broken), "runtime": "onnx_fp32", "device": "cpu"}
    job.update(threads=1, batch_sizes=[1], runs=1, warmup=0, max_length=16, texts=["hi"])
    with pytest.raises(UserError, match="ONNX Runtime cannot load it"):
        run_child(job, Reporter("quiet"), "broken")


def test_peak_memory_is_the_childs_own(bench_run) -> None:
    root, _ = bench_run
    ballast = b"x" * 400_000_000  # the parent grows by 400 MB; the child must not inherit it
    job = {"kind": "measure", "runtime": "onnx_int8", "device": "cpu", "threads": 1}
    job.update(path=str(root / "variants" / "student-1l-int8"), batch_sizes=[1], runs=1)
    job.update(warmup=0, max_length=16, texts=["hello there"])
    figures = run_child(job, Reporter("quiet"), "ballast")
    assert 10 < figures["runtime"]["peak_rss_mb"] < 350 and len(ballast) == 400_000_000


def test_cli_json_and_errors(bench_run, tmp_path, capsys) -> None:
    root, _ = bench_run
    alone = shutil.copytree(root / "variants" / "student-1l-int8", tmp_path / "int8")
    before = (alone / "metrics.json").read_bytes()
    args = ["bench", str(alone), "--data", "demo", "--runs", "2", "--warmup", "0"]
    args += ["--n-texts", "4", "--batch-sizes", "2,1", "--threads", "1,2", "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    figures = result["variants"]["int8"]["speed"]["runtimes"]["onnx_int8"]
    assert figures["speedup"]["2"] == 1.0 and figures["threads"] == 1
    assert result["settings"]["batch_sizes"] == [1, 2]
    # both thread counts in one call, each with its own limit, measured by the same runtime
    assert [limit["threads"] for limit in result["limits"]] == [1, 2]
    grid = [(run["threads"], run["mode"]) for run in figures["grid"]]
    assert grid == [(1, "plain"), (1, "bucketed"), (2, "plain"), (2, "bucketed")]
    two = figures["grid"][3]["batches"]["2"]
    assert two["share_of_limit"] == pytest.approx(
        two["achieved_gflops"] / result["limits"][1]["int8_gops"]
    )
    assert (
        main(
            [
                "bench",
                str(alone),
                "--data",
                "demo",
                "--runs",
                "1",
                "--warmup",
                "0",
                "--n-texts",
                "2",
                "--batch-sizes",
                "1",
                "--modes",
                "plain",
                "--json",
            ]
        )
        == 0
    )
    only = json.loads(capsys.readouterr().out)["variants"]["int8"]["speed"]["runtimes"]
    assert only["onnx_int8"]["mode"] == "plain" and len(only["onnx_int8"]["grid"]) == 1
    assert (alone / "metrics.json").read_bytes() == before  # not in a run: left as it was
    for bad, message in [
        ([], "no variant or run directory"),
        ([str(alone)], "--texts FILE or --data SOURCE"),
        ([str(alone), "--data", "demo", "--batch-sizes", "1,x"], "not a list of numbers"),
        ([str(alone), "--data", "demo", "--batch-sizes", "0"], "at least 1"),
        ([str(alone), "--data", "demo", "--threads", "1,x"], "'x' is not a number"),
        ([str(alone), "--data", "demo", "--threads", "0"], "--threads: thread counts must be"),
        ([str(alone), "--data", "demo", "--modes", "sorted"], "--modes"),
        ([str(alone), "--texts", str(tmp_path / "none.txt")], "cannot read texts"),
        ([str(root), "--baseline", "ghost"], "baseline 'ghost'"),
        # 0 was taken as "not given": the run measured at the recipe's length, silently
        ([str(alone), "--data", "demo", "--max-length", "0"], "--max-length must be at least 1"),
    ]:
        assert main(["bench", *bad]) == 2
        assert message in " ".join(capsys.readouterr().err.split())


def test_table_says_na_for_gpu_memory(bench_run) -> None:
    from rich.console import Console

    from emocompress.cli.commands.bench import speed_table

    _, result = bench_run
    console = Console(record=True, width=200)
    console.print(speed_table(BenchFile.model_validate(result)))
    text = console.export_text()
    assert "student-1l-int8" in text and "onnx_int8" in text and "1.00x" in text
    assert " n/a " in text and " 0 " not in text
    assert "bucketed" in text and "plain" in text and "padding b4" in text
    from emocompress.cli.commands.bench import _footer

    footer = _footer(BenchFile.model_validate(result))
    assert "CPU flags:" in footer and "ORT int8" in footer and "ORT fp32" in footer


def test_target_knows_its_run(bench_run) -> None:
    root, _ = bench_run
    assert Target("teacher", root / "variants" / "teacher", "pytorch").run_root == root
