"""The typed run-directory contract: versions, errors, round trips, the generated docs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emocompress.artifacts import schema
from emocompress.artifacts.rundir import RunDir, VariantDir
from emocompress.artifacts.schema import (
    SCHEMA_VERSION,
    BatchLatency,
    History,
    Lineage,
    Metrics,
    RunFile,
    RuntimeSpeed,
    Speed,
)
from emocompress.artifacts.schema_doc import render, replace_generated
from emocompress.errors import UserError

ROOT = Path(__file__).resolve().parents[2]


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _v1_metrics() -> dict:
    return {
        "schema": "emocompress.metrics/1",
        "variant": "student",
        "labels": ["joy", "anger"],
        "size": {
            "parameters": 10,
            "parameters_without_embeddings": 4,
            "bytes_on_disk": 40,
            "dtypes": {"float32": 10},
            "components": {"embeddings": 6, "attention": 4},
        },
        "speed": {
            "baseline": "teacher",
            "runtimes": {
                "onnx_int8": {
                    "batch_1": {"p50_ms": 0.5, "texts_per_s": 2000.0},
                    "batch_32": {"p50_ms": 12.0, "texts_per_s": 2600.0},
                    "speedup_batch_1": 12.5,
                    "speedup_batch_32": 6.0,
                    "peak_rss_mb": 150.0,
                    "gpu_peak_mb": None,
                }
            },
        },
    }


def test_version_1_metrics_are_upgraded_on_read(tmp_path):
    metrics = Metrics.read(_write(tmp_path / "metrics.json", _v1_metrics()))
    runtime = metrics.speed.runtimes["onnx_int8"]
    assert metrics.schema_version == SCHEMA_VERSION
    assert runtime.batch(32).texts_per_s == 2600.0
    assert runtime.speedup == {1: 12.5, 32: 6.0}
    assert runtime.gpu_peak_mb is None
    assert metrics.quality is None  # not measured: absent, and stays absent when written


def test_written_file_round_trips_and_leaves_unmeasured_sections_out(tmp_path):
    metrics = Metrics.read(_write(tmp_path / "old.json", _v1_metrics()))
    metrics.write(tmp_path / "metrics.json")
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["schema_version"] == SCHEMA_VERSION and "schema" not in written
    assert "quality" not in written and "parity" not in written
    assert written["speed"]["runtimes"]["onnx_int8"]["batches"]["32"]["texts_per_s"] == 2600.0
    assert Metrics.read(tmp_path / "metrics.json") == metrics


def test_a_newer_schema_version_is_refused_with_what_to_do(tmp_path):
    data = {**_v1_metrics(), "schema_version": SCHEMA_VERSION + 1}
    del data["schema"]
    with pytest.raises(UserError) as caught:
        Metrics.read(_write(tmp_path / "metrics.json", data))
    message = str(caught.value)
    assert "metrics.json" in message and "newer emocompress" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b'{"variant": ', "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"variant": 3}', "variant: Input should be a valid string"),
        (b'{"variant": "x", "qualty": {}}', "qualty: Extra inputs are not permitted"),
        (b'{"schema": "emocompress.run/1", "variant": "x"}', "is not that of a metrics.json"),
        (b'{"schema_version": "two", "variant": "x"}', "is not a positive integer"),
    ],
)
def test_every_bad_file_is_one_error_naming_the_file(tmp_path, content, expected):
    path = tmp_path / "metrics.json"
    path.write_bytes(content)
    with pytest.raises(UserError) as caught:
        Metrics.read(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_oversized_json_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    from emocompress.artifacts import jsonfile

    path = _write(tmp_path / "metrics.json", {"variant": "x", "labels": ["a"] * 1000})
    monkeypatch.setattr(jsonfile, "MAX_JSON_BYTES", 100)
    with pytest.raises(UserError, match="too large"):
        jsonfile.read_json_object(path, max_bytes=jsonfile.MAX_JSON_BYTES)


def test_a_missing_file_names_itself(tmp_path):
    with pytest.raises(UserError, match="file not found"):
        VariantDir(tmp_path).load_metrics()


def test_update_sections_keeps_the_other_sections(tmp_path):
    variant = VariantDir(tmp_path)
    variant.write_metrics(Metrics.read(_write(tmp_path / "metrics.json", _v1_metrics())))
    speed = Speed(runtimes={"pytorch": RuntimeSpeed(batches={32: BatchLatency(p50_ms=3.0)})})
    variant.update_sections(speed=speed)
    again = variant.load_metrics()
    assert again.size.parameters == 10
    assert list(again.speed.runtimes) == ["pytorch"]


def test_lineage_parents_and_run_file_defaults(tmp_path):
    merged = Lineage(name="soup", parent=["a", "b"], operation="merge")
    made = Lineage(name="teacher", source="pkg:x", operation="finetune")
    assert merged.parents == ["a", "b"] and made.parents == []
    run = RunDir(tmp_path)
    assert run.load_state() == RunFile()  # no run.json yet: an empty record
    run.save_state(RunFile(name="r", status="finished"))
    assert run.load_state().status == "finished"


def test_history_keeps_each_operations_loss_terms(tmp_path):
    history = History(variant="s", steps=[{"step": 1, "loss": 0.4, "hard": 0.1, "soft": 0.6}])
    history.write(tmp_path / "history.json")
    again = History.read(tmp_path / "history.json")
    assert again.steps[0].model_extra == {"hard": 0.1, "soft": 0.6}


def test_every_model_file_name_is_unique():
    names = [model.FILE for model in schema.ARTIFACT_FILES]
    assert len(names) == len(set(names))


def test_docs_tables_are_the_models():
    """docs/run-directory.md's generated part is what the models render today."""
    document = (ROOT / "docs" / "run-directory.md").read_text(encoding="utf-8")
    assert render() in document, (
        "docs/run-directory.md drifted from emocompress/artifacts/schema.py: run "
        "`python -m emocompress.artifacts.schema_doc docs/run-directory.md`"
    )
    assert replace_generated(document) == document
    for model in schema.ARTIFACT_FILES:
        for field in model.model_fields:
            assert f"`{field}`" in document, f"{model.FILE}: {field} is not documented"


def test_the_resolved_recipe_is_read_once_for_every_reader(tmp_path):
    from emocompress.artifacts.schema import ResolvedRecipe

    run = RunDir(tmp_path)
    assert run.load_recipe() is None  # no recipe.yaml: nothing to read
    run.recipe_file.write_text(
        "name: r\nreference: student\ndata: {source: demo, report: dev, max_length: 64}\n"
        "variants: []\n"
    )
    recipe = run.load_recipe()
    assert (recipe.reference, recipe.data.max_length) == ("student", 64)
    run.recipe_file.write_text("name: [unclosed\n")
    with pytest.raises(UserError, match="recipe.yaml: not a readable YAML recipe"):
        ResolvedRecipe.read(run.recipe_file)
