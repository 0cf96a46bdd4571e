"""Model cards: the README.md a Hugging Face Hub user expects beside a variant or a bundle.

YAML front matter (``library_name``, ``pipeline_tag``, ``tags``, ``datasets``,
``base_model`` where the source is a Hub id, and ``model-index`` with the measured figures:
dataset, split, metric names and values from metrics.json), then lineage, figures, intended
use, limits (rare emotions, where the thresholds were tuned) and how to load it
(transformers, onnxruntime, ``emocompress predict``). Everything comes from the variant's
files; nothing is measured here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from emocompress.artifacts.atomic import write_text
from emocompress.artifacts.jsonfile import read_json_object
from emocompress.artifacts.rundir import RunDir, VariantDir
from emocompress.artifacts.schema import CONFIG_FILE, Lineage, Metrics
from emocompress.data.labels import GOEMOTIONS_LABELS
from emocompress.errors import UserError
from emocompress.format import fmt
from emocompress.models.ort import TOKENIZER_FILE

CARD_FILE = "README.md"
CARD_MARKER = "<!-- emocompress model card -->"  # a README.md without it is the user's own
RARE_SUPPORT = 20  # fewer report-split positives than this: the label's figures are shaky
GOEMOTIONS_HUB_ID = "google-research-datasets/go_emotions"
# emocompress.models.pooled.MODEL_TYPE, not imported: that module imports torch
POOLED_MODEL_TYPE = "emocompress-pooled"


@dataclass(frozen=True)
class CardFacts:
    """What a card states, gathered from one variant's files."""

    path: Path
    name: str
    metrics: Metrics
    chain: list[Lineage]
    labels: list[str]
    data_source: str | None
    max_length: int | None
    is_onnx: bool


def lineage_chain(variant: Path) -> list[Lineage]:
    """The variant's lineage, then its parent's, ... while they are in the same run folder."""
    chain: list[Lineage] = []
    current: VariantDir | None = VariantDir(variant)
    while current is not None and current.has_lineage():
        lineage = current.load_lineage()
        chain.append(lineage)
        parent = lineage.parents[0] if lineage.parents else None
        current = VariantDir(current.path.parent / parent) if parent else None
        if len(chain) > 50:  # a cycle in hand-edited files
            break
    return chain


def card_facts(variant: Path, labels: list[str] | None = None) -> CardFacts:
    source = VariantDir(variant)
    if not variant.is_dir():
        raise UserError(f"{variant}: not a folder", expected="a variant folder or a bundle")
    if not source.has_metrics():
        raise UserError(f"{variant}: no {Metrics.FILE}", expected="a measured variant or bundle")
    metrics = source.load_metrics()
    chain = lineage_chain(variant)
    run_root = variant.parent.parent
    recipe = RunDir(run_root).load_recipe() if RunDir.is_run_dir(run_root) else None
    return CardFacts(
        path=variant,
        name=metrics.variant or variant.name,
        metrics=metrics,
        chain=chain,
        labels=labels or list(metrics.labels),
        data_source=recipe.data.source if recipe else None,
        max_length=_tokenizer_max_length(variant) or (recipe.data.max_length if recipe else None),
        is_onnx=source.is_onnx,
    )


def _tokenizer_max_length(variant: Path) -> int | None:
    """The truncation length saved in tokenizer.json (what the model was measured at)."""
    try:
        data = read_json_object(variant / TOKENIZER_FILE)
    except UserError:
        return None
    return (data.get("truncation") or {}).get("max_length")


def dataset_entry(facts: CardFacts) -> dict[str, Any]:
    """The model-index dataset: GoEmotions when its 28 labels were used on real data."""
    quality = facts.metrics.quality
    split = quality.report_split if quality else None
    goemotions = tuple(facts.labels) == GOEMOTIONS_LABELS and facts.data_source not in (
        None,
        "demo",
    )
    if goemotions:
        return {"name": "GoEmotions", "type": GOEMOTIONS_HUB_ID, "split": split}
    name = facts.data_source or "unknown"
    kind = "emocompress-demo" if name == "demo" else Path(name).name
    return {"name": name, "type": kind, "split": split}


def model_index_metrics(metrics: Metrics) -> list[dict[str, Any]]:
    """The model-index metrics; with the run's bootstrap intervals (metrics.json
    ``intervals``, docs/metrics.md) as ``args`` where they exist."""
    quality = metrics.quality
    if quality is None:
        return []
    selected = quality.selected
    strategy = quality.selected_strategy
    spans = metrics.intervals
    same_strategy = spans is not None and spans.strategy == strategy
    rows: list[tuple[str, str, float | None, Any]] = [
        ("roc_auc", "macro AUC", quality.auc.macro, spans and spans.auc_macro),
        ("roc_auc", "micro AUC", quality.auc.micro, spans and spans.auc_micro),
        ("f1", f"macro F1 ({strategy} thresholds)", selected.macro.f1,
         same_strategy and spans.macro.f1),
        ("f1", f"micro F1 ({strategy} thresholds)", selected.micro.f1,
         same_strategy and spans.micro.f1),
        ("precision", "macro precision", selected.macro.precision,
         same_strategy and spans.macro.precision),
        ("recall", "macro recall", selected.macro.recall, same_strategy and spans.macro.recall),
        ("precision", "micro precision", selected.micro.precision,
         same_strategy and spans.micro.precision),
        ("recall", "micro recall", selected.micro.recall, same_strategy and spans.micro.recall),
    ]  # fmt: skip
    entries = []
    for kind, name, value, span in rows:
        if value is None:
            continue
        # unrounded, as metrics.json has them: the card's text rounds once, to 4 decimals, like
        # every other table (rounding to 6 first moved a figure ending in ...55 by 0.0001)
        entry: dict[str, Any] = {"type": kind, "name": name, "value": float(value)}
        if span and span.low is not None and span.high is not None:
            entry["args"] = {  # the bootstrap interval (its own names: not metrics.json's)
                "ci_level": spans.confidence,
                "ci_low": float(span.low),
                "ci_high": float(span.high),
                "ci_resamples": spans.resamples,
            }
        entries.append(entry)
    return entries


def _shown(entry: dict[str, Any]) -> str:
    args = entry.get("args")
    if not args:
        return f"{entry['value']:.4f}"
    level = round(100 * args["ci_level"])
    return f"{entry['value']:.4f} [{args['ci_low']:.4f}, {args['ci_high']:.4f}] ({level}% interval)"


def front_matter(facts: CardFacts) -> dict[str, Any]:
    root = facts.chain[-1] if facts.chain else None
    base_model = root.source if root is not None else None
    dataset = dataset_entry(facts)
    matter: dict[str, Any] = {
        "library_name": "onnx" if facts.is_onnx else "transformers",
        "pipeline_tag": "text-classification",
        "tags": ["emotion", "multi-label-classification", "emocompress"]
        + (["onnx"] if facts.is_onnx else []),
    }
    if dataset["type"] == GOEMOTIONS_HUB_ID:
        matter["datasets"] = [GOEMOTIONS_HUB_ID]
    if _is_hub_id(base_model):
        matter["base_model"] = base_model
    matter["model-index"] = [
        {
            "name": facts.name,
            "results": [
                {
                    "task": {
                        "type": "text-classification",
                        "name": "Multi-label emotion classification",
                    },
                    "dataset": dataset,
                    "metrics": model_index_metrics(facts.metrics),
                }
            ],
        }
    ]
    return matter


def _is_hub_id(reference: str | None) -> bool:
    """``org/name`` on the Hub (not a local path, not ``pkg:NAME``)."""
    if not reference or ":" in reference or reference.startswith((".", "/", "~")):
        return False
    return reference.count("/") == 1 and not Path(reference).exists()


def model_card(variant: Path, *, bundle: bool = False, labels: list[str] | None = None) -> str:
    """The README.md of ``variant`` (a run's variant folder, or a bundle when ``bundle``)."""
    facts = card_facts(variant, labels)
    matter = yaml.safe_dump(front_matter(facts), sort_keys=False, allow_unicode=True)
    sections = [
        f"---\n{matter}---\n{CARD_MARKER}\n",
        f"# {facts.name}\n\n{_summary(facts, bundle)}",
        _lineage(facts),
        _figures(facts),
        _intended_use(facts),
        _limits(facts),
        _how_to_load(facts, bundle),
    ]
    return "\n\n".join(section.strip() for section in sections) + "\n"


def write_model_card(variant: Path, *, bundle: bool = False) -> Path:
    """Write README.md into ``variant``; a README.md that is not an emocompress card is kept."""
    target = variant / CARD_FILE
    if target.is_file() and CARD_MARKER not in target.read_text(encoding="utf-8", errors="replace"):
        raise UserError(
            f"{target} exists and is not an emocompress model card; refusing to replace it",
            expected=f"your README.md moved elsewhere first; `emocompress card {variant} --print`"
            " shows the card without writing it",
        )
    write_text(target, model_card(variant, bundle=bundle))
    return target


def write_run_cards(run_dir: RunDir) -> list[Path]:
    """A card for every measured variant of the run (a user's own README.md is left alone)."""
    written = []
    for variant in run_dir.variants():
        if variant.has_metrics():
            try:
                written.append(write_model_card(variant.path))
            except UserError:
                continue
    return written


def _summary(facts: CardFacts, bundle: bool) -> str:
    kind = "ONNX graph" if facts.is_onnx else "PyTorch (safetensors) checkpoint"
    precision = facts.chain[0].facts.get("precision") if facts.chain else None
    where = "deployable bundle" if bundle else "variant of an emocompress run"
    return (
        f"Multi-label emotion classifier ({len(facts.labels)} labels), {kind}"
        + (f" ({precision})" if precision else "")
        + f", a {where}. Made and measured by [emocompress](https://github.com/emocompress)."
    )


def _lineage(facts: CardFacts) -> str:
    if not facts.chain:
        return "## Lineage\n\n- (no lineage recorded)"
    steps = [f"- `{c.name}`: {c.operation} from `{c.parent or c.source}`" for c in facts.chain]
    return (
        "## Lineage\n\nNewest first; each step's settings are in `emocompress.json`.\n\n"
        + "\n".join(steps)
    )


def _figures(facts: CardFacts) -> str:
    metrics = facts.metrics
    quality, size, parity = metrics.quality, metrics.size, metrics.parity
    if quality is None:
        return "## Figures\n\nNot measured."
    rows = [(m["name"], _shown(m)) for m in model_index_metrics(metrics)]
    rows += [
        ("parameters", fmt(size.parameters if size else None, ",")),
        (
            "parameters without embeddings",
            fmt(size.parameters_without_embeddings if size else None, ","),
        ),
        ("size on disk", fmt(size.megabytes if size else None, ".1f", " MB")),
    ]
    if parity is not None:
        rows.append(
            (
                "parity (max abs logit diff)",
                f"{fmt(parity.max_abs_logit_diff, '.2g')} against {fmt(parity.reference)}",
            )
        )
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return (
        f"## Figures\n\nMeasured on the `{quality.report_split}` split ({quality.n_report} texts); "
        f"thresholds chosen on `{quality.tune_split}` ({quality.n_tune} texts), strategy "
        f"`{quality.selected_strategy}` ({quality.selected_because}).\n\n"
        f"| figure | value |\n| --- | --- |\n{table}"
    )


def _intended_use(facts: CardFacts) -> str:
    return (
        "## Intended use\n\nTagging short English texts (comments, messages) with the emotions "
        "they express, several per text, for analysis in aggregate. Not for decisions about "
        "individual people, and not for clinical or safety-critical use: the labels are "
        "annotators' readings of text, not of what the writer felt."
    )


def _limits(facts: CardFacts) -> str:
    quality = facts.metrics.quality
    lines = ["## Limits"]
    if quality is None:
        return "\n\n".join(lines + ["Not measured."])
    per_label = quality.selected.per_label
    rare = sorted((s.support, label) for label, s in per_label.items() if s.support < RARE_SUPPORT)
    if rare:
        listed = ", ".join(f"{label} ({support})" for support, label in rare)
        lines.append(
            f"- Rare emotions: fewer than {RARE_SUPPORT} positives in the `{quality.report_split}` "
            f"split for {listed}; their F1 and AUC rest on few examples."
        )
    lines.append(
        f"- Thresholds were chosen on `{quality.tune_split}` ({quality.n_tune} texts) with the "
        f"`{quality.selected_strategy}` strategy; on other data, tune them again "
        "(`emocompress eval`)."
    )
    if facts.max_length:
        lines.append(f"- Texts are cut at {facts.max_length} tokens.")
    if facts.is_onnx and facts.chain and facts.chain[0].facts.get("precision") == "int8":
        lines.append(
            "- int8 weights: logits differ from the fp32 model's; the figures above are the int8 model's own."
        )
    return "\n".join([lines[0], "", *lines[1:]])


def _how_to_load(facts: CardFacts, bundle: bool) -> str:
    text = "I can't believe how kind you are"
    parts = ["## How to load it"]
    if facts.is_onnx:
        parts.append(
            "onnxruntime (numpy, onnxruntime and tokenizers only):\n\n```python\n"
            "import numpy as np, onnxruntime as ort\n"
            "from tokenizers import Tokenizer\n"
            'tokenizer = Tokenizer.from_file("tokenizer.json")\n'
            "# on CPU, keep ORT from fusing Add + LayerNormalization into its slower\n"
            "# SkipLayerNormalization kernel (emocompress's measurements: docs/onnx.md)\n"
            'session = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"],\n'
            '                               disabled_optimizers=["SkipLayerNormFusion"])\n'
            f'enc = tokenizer.encode("{text}")\n'
            "feeds = {i.name: np.array([enc.ids if i.name == 'input_ids' else enc.attention_mask "
            "if i.name == 'attention_mask' else enc.type_ids], dtype=np.int64) "
            "for i in session.get_inputs()}\n"
            "probs = 1 / (1 + np.exp(-session.run(None, feeds)[0]))\n```"
        )
    else:
        pooled = _is_pooled(facts)
        parts.append(
            "transformers:\n\n```python\n"
            + (
                "import emocompress.models.pooled  # registers the mean-pooling head\n"
                if pooled
                else ""
            )
            + "from transformers import AutoModelForSequenceClassification, AutoTokenizer\n"
            'model = AutoModelForSequenceClassification.from_pretrained("PATH_OR_REPO")\n'
            'tokenizer = AutoTokenizer.from_pretrained("PATH_OR_REPO")\n'
            f'probs = model(**tokenizer(["{text}"], return_tensors="pt")).logits.sigmoid()\n```'
            + (
                "\n\nWithout emocompress installed, add `trust_remote_code=True` (the head's code "
                "is `modeling_emocompress.py` beside the weights): read it first."
                if pooled
                else ""
            )
        )
    target = "BUNDLE" if bundle else "RUN/variants/" + facts.name
    if facts.is_onnx:
        parts.append(
            f'emocompress:\n\n```sh\nemocompress predict {target} "{text}"\n```\n\n'
            "A label is predicted when its probability reaches its threshold "
            + ("in `thresholds.json`." if bundle else "in metrics.json's selected strategy.")
        )
    return "\n\n".join(parts)


def _is_pooled(facts: CardFacts) -> bool:
    """The checkpoint uses emocompress's pooled head (config.json model_type)."""
    config = facts.path / CONFIG_FILE
    return config.is_file() and read_json_object(config).get("model_type") == POOLED_MODEL_TYPE


def card_json_summary(card: str) -> dict[str, Any]:
    """The front matter of a card as data (tests, ``push --dry-run``)."""
    if not card.startswith("---\n"):
        raise UserError("the model card has no YAML front matter")
    matter = card[4:].split("\n---\n", 1)[0]
    return json.loads(json.dumps(yaml.safe_load(matter)))
