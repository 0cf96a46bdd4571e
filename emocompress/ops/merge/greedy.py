"""Greedy soup (Wortsman et al., 2022): add models in order of their tune macro-AUC, keeping
each only if the soup's tune macro-AUC does not drop; the chosen ones are averaged uniformly.

Choices are made on the tune split only, never on the report split: each model's own tune
AUC comes from its saved ``predictions/<tune split>.npz`` when that file holds this very
split, otherwise the model is scored again. Candidate soups are evaluated in memory (whole
models, unavoidably); the chosen soup is then written by the same streaming writer as
every other method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emocompress.errors import UserError
from emocompress.ops.merge.base import MergeMethod, MethodParams, TensorInputs
from emocompress.ops.merge.inputs import MergeInput
from emocompress.ops.merge.uniform import weighted_average
from emocompress.progress import Reporter

if TYPE_CHECKING:
    import torch

    from emocompress.data.context import DataContext
    from emocompress.data.readers import Split


@dataclass
class Tuning:
    """What greedy soup measures its candidates on."""

    data: DataContext
    batch_size: int = 64
    device: str = "cpu"
    reporter: Reporter = field(default_factory=lambda: Reporter("quiet"))


def select_greedy(inputs: list[MergeInput], tuning: Tuning | None) -> tuple[list[int], dict]:
    """Indices of the models in the greedy soup, and what was measured to choose them."""
    if tuning is None:
        raise UserError(
            "greedy soup measures candidate soups on a tune split, and none was given",
            expected="a recipe merge variant, or --data SOURCE on the command line",
        )
    split = tuning.data.split("tune")
    soup = _SoupScorer(inputs, split, tuning)
    singles = [soup.single_auc(i) for i in range(len(inputs))]
    order = sorted(range(len(inputs)), key=lambda i: -singles[i][0])
    chosen, best = [order[0]], singles[order[0]][0]
    steps: list[dict[str, Any]] = []
    for index in order[1:]:
        tuning.reporter.check_cancelled()
        auc = soup.auc_of([*chosen, index])
        kept = auc >= best
        steps.append({"added": inputs[index].name, "tune_macro_auc": auc, "kept": kept})
        tuning.reporter.log(
            f"greedy soup: +{inputs[index].name} -> tune macro-AUC {auc:.4f}"
            f" ({'kept' if kept else 'dropped'}; soup so far {best:.4f})"
        )
        if kept:
            chosen.append(index)
            best = auc
    facts = {
        "tune_split": split.name,
        "n_tune": len(split),
        "candidates": [
            {"name": inputs[i].name, "tune_macro_auc": singles[i][0], "from": singles[i][1]}
            for i in order
        ],
        "steps": steps,
        "chosen": [inputs[i].name for i in chosen],
        "soup_tune_macro_auc": best,
    }
    return chosen, facts


class _SoupScorer:
    """Tune macro-AUC of single models and of uniform soups, evaluated in memory."""

    def __init__(self, inputs: list[MergeInput], split: Split, tuning: Tuning) -> None:
        from emocompress.models.classifier import load_classifier, load_tokenizer

        self.inputs, self.split, self.tuning = inputs, split, tuning
        self.model = load_classifier(inputs[0].path, device=tuning.device)
        self.tokenizer = load_tokenizer(inputs[0].path)
        self._states: dict[int, dict[str, torch.Tensor]] = {}

    def single_auc(self, index: int) -> tuple[float, str]:
        saved = self._saved_auc(self.inputs[index])
        if saved is not None:
            return saved, f"predictions/{self.split.name}.npz"
        return self.auc_of([index]), "scored"

    def auc_of(self, indices: list[int]) -> float:
        from emocompress.measure.inference import predict_probs

        states = [self._state(i) for i in indices]
        soup = {
            name: weighted_average(
                TensorInputs([s[name].float() for s in states], [1.0] * len(states), [])
            )
            for name in states[0]
        }
        _, unexpected = self.model.load_state_dict(soup, strict=False)
        if unexpected:
            raise RuntimeError(f"checkpoint tensors the model does not have: {unexpected[:5]}")
        names = " + ".join(self.inputs[i].name for i in indices)
        probs = predict_probs(
            self.model,
            self.tokenizer,
            self.split.texts,
            batch_size=self.tuning.batch_size,
            max_length=self.tuning.data.max_length,
            reporter=self.tuning.reporter,
            description=f"greedy soup: scoring {names} on {self.split.name}",
        )
        return self._macro(probs)

    def _state(self, index: int) -> dict[str, torch.Tensor]:
        from safetensors.torch import load_file

        if index not in self._states:
            state: dict[str, torch.Tensor] = {}
            for file in self.inputs[index].files:
                state.update(load_file(str(file)))
            self._states[index] = state
        return self._states[index]

    def _saved_auc(self, source: MergeInput) -> float | None:
        import numpy as np

        from emocompress.artifacts.predictions import load_predictions
        from emocompress.artifacts.rundir import VariantDir

        file = VariantDir(source.path).predictions_file(self.split.name)
        if not file.is_file():
            return None
        saved = load_predictions(file)
        same_split = (
            saved.label_names == self.split.label_names
            and saved.labels.shape == self.split.labels.shape
            and np.array_equal(saved.labels, self.split.labels)
        )
        return self._macro(saved.probs) if same_split else None

    def _macro(self, probs: Any) -> float:
        from emocompress.measure.metrics import auc_scores

        macro = auc_scores(probs, self.split.labels, self.split.label_names)["macro"]
        if macro is None:
            raise UserError(
                f"the tune split {self.split.name!r} has no label with both positive and"
                " negative examples, so greedy soup cannot rank models",
                expected="a larger tune split",
            )
        return float(macro)


METHOD = MergeMethod(
    "greedy",
    "greedy soup: add models by tune macro-AUC, keep each that does not lower it; average",
    MethodParams,
    weighted_average,
    select=select_greedy,
)
