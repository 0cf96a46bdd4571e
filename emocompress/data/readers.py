"""Loading labelled text splits: GoEmotions TSV, CSV, JSONL, the embedded demo set, the hub.

Every source becomes a :class:`Split`: texts, a multi-hot ``uint8`` label matrix, label names,
example ids and a human description of where the examples came from. Bad input raises
:class:`~emocompress.errors.UserError` naming the file and line.

Sources accepted by :func:`load_splits`:

- ``"demo"``: the hand-written demo set shipped in ``emocompress/data/demo`` (not GoEmotions;
  write ``./demo`` for a local folder of that name);
- a directory holding ``train``/``dev``/``test`` files as ``.tsv`` (GoEmotions format: text,
  comma-separated label ids, id; tab-separated, no header), ``.csv`` or ``.jsonl``; the label
  names come from ``labels.txt`` there, else the 28 GoEmotions names;
- a single ``.tsv``/``.csv``/``.jsonl`` file, returned as split ``"train"``;
- ``"hub:NAME[:CONFIG]"``: a Hugging Face dataset, via the optional ``datasets`` package.

CSV and JSONL hold a text column plus either a labels column (label ids or names: ``"3,27"``,
``"[3, 27]"``, ``[3, 27]``, ``"joy,gratitude"``) or one 0/1 column per label name.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emocompress.data.labels import GOEMOTIONS_LABELS
from emocompress.errors import UserError

DEMO_SOURCE = "demo"
DEMO_DIR = Path(__file__).parent / "demo"
HUB_PREFIX = "hub:"
SPLIT_NAMES = ("train", "dev", "test")
FILE_FORMATS = (".tsv", ".csv", ".jsonl")
LABELS_FILE = "labels.txt"
LABELS_COLUMN_CANDIDATES = ("labels", "label")
ID_COLUMN = "id"
# hub datasets call the dev split "validation"
_HUB_SPLIT_NAMES = {"validation": "dev"}
_ONE_HOT_STRINGS = {"0": 0, "1": 1, "0.0": 0, "1.0": 1, "false": 0, "true": 1, "": 0}


@dataclass(frozen=True, eq=False)  # eq=False: element-wise array equality has no single truth value
class Split:
    """One named split: texts with their multi-hot labels."""

    name: str
    texts: list[str]
    labels: np.ndarray  # (n, L) uint8 multi-hot
    label_names: tuple[str, ...]
    ids: list[str]
    description: str

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels, dtype=np.uint8)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "label_names", tuple(self.label_names))
        expected = (len(self.texts), len(self.label_names))
        if labels.ndim != 2 or labels.shape != expected or len(self.ids) != len(self.texts):
            raise ValueError(
                f"split {self.name!r}: labels {labels.shape}, {len(self.texts)} texts, "
                f"{len(self.ids)} ids, {len(self.label_names)} label names do not fit together"
            )

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        return f"Split({self.name!r}, {len(self)} examples, {len(self.label_names)} labels: {self.description})"

    def subset(
        self,
        indices: Sequence[int] | np.ndarray,
        name: str | None = None,
        description: str | None = None,
    ) -> Split:
        """The examples at ``indices`` (integer positions or a boolean mask), in that order."""
        index = np.asarray(indices)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        index = index.astype(np.intp, copy=False)
        return Split(
            name=self.name if name is None else name,
            texts=[self.texts[i] for i in index],
            labels=self.labels[index],
            label_names=self.label_names,
            ids=[self.ids[i] for i in index],
            description=description or f"{self.description}, {len(index)} selected",
        )


# --------------------------------------------------------------------------- public API


def load_splits(
    source: str | os.PathLike[str],
    *,
    label_names: Sequence[str] | None = None,
    text_column: str = "text",
    labels_column: str | None = None,
) -> dict[str, Split]:
    """Load every split a data source holds, keyed by split name (train, dev, test, ...)."""
    options = _Options(text_column=text_column, labels_column=labels_column)
    names = tuple(label_names) if label_names is not None else None
    source_str = os.fspath(source)
    if source_str == DEMO_SOURCE:
        # demo-train.tsv / demo-dev.tsv: named apart from GoEmotions' train.tsv / dev.tsv
        return _load_directory(DEMO_DIR, names, options, prefix="demo", file_prefix="demo-")
    if source_str.startswith(HUB_PREFIX):
        return _load_hub(source_str[len(HUB_PREFIX) :], names, options)
    path = Path(source_str).expanduser()
    if path.is_dir():
        return _load_directory(path, names, options, prefix=path.name)
    if path.is_file():
        if path.suffix.lower() not in FILE_FORMATS:
            raise UserError(
                f"unsupported data file type {path.suffix!r}",
                where=str(path),
                expected="a .tsv, .csv or .jsonl file",
            )
        resolved = _resolve_label_names(names, path.parent)
        return {"train": _load_file(path, "train", resolved, options, path.name)}
    raise UserError(
        f"unknown data source {source_str!r}: no such file or directory",
        expected="'demo', a directory with train/dev/test files, a .tsv/.csv/.jsonl file, or hub:NAME",
    )


def carve(
    split: Split, fraction: float, seed: int, *, names: tuple[str, str] = ("train", "tune")
) -> tuple[Split, Split]:
    """Split off a random ``fraction`` of ``split``: returns (the rest, the carved part).

    Deterministic for a given seed; both parts keep the original example order.
    """
    if not 0.0 < fraction < 1.0:
        raise UserError(
            f"cannot carve a fraction of {fraction} from split {split.name!r}",
            expected="a fraction between 0 and 1, exclusive",
        )
    if len(split) < 2:
        raise UserError(
            f"split {split.name!r} has {len(split)} example(s), too few to carve",
            expected="at least 2 examples",
        )
    n_carved = min(max(round(fraction * len(split)), 1), len(split) - 1)
    order = np.random.default_rng(seed).permutation(len(split))
    carved = np.sort(order[:n_carved])
    rest = np.sort(order[n_carved:])
    rest_name, carved_name = names
    percent = f"{fraction * 100:g}%"
    return (
        split.subset(
            rest,
            name=rest_name,
            description=f"{split.description} minus {carved_name} ({percent}, seed {seed})",
        ),
        split.subset(
            carved, name=carved_name, description=f"{percent} of {split.description} (seed {seed})"
        ),
    )


def subsample(split: Split, n: int, seed: int) -> Split:
    """The first ``n`` examples of a seeded permutation, in original order; the split itself if n >= len."""
    if n < 1:
        raise UserError(
            f"cannot subsample {n} examples from split {split.name!r}",
            expected="a positive number of examples",
        )
    if n >= len(split):
        return split
    chosen = np.sort(np.random.default_rng(seed).permutation(len(split))[:n])
    return split.subset(chosen, description=f"{split.description}, {n} sampled (seed {seed})")


def check_label_set(data_labels: Sequence[str], model_labels: Sequence[str], *, where: str) -> None:
    """Raise a UserError naming the differences when the data's labels are not the model's, in order."""
    data, model = tuple(data_labels), tuple(model_labels)
    if data == model:
        return
    missing = [name for name in model if name not in data]
    extra = [name for name in data if name not in model]
    problems = []
    if missing:
        problems.append(f"missing from the data: {', '.join(missing)}")
    if extra:
        problems.append(f"not in the model: {', '.join(extra)}")
    if not problems:
        problems.append(_order_difference(data, model))
    raise UserError(
        f"the data's labels do not match the model's ({len(data)} vs {len(model)} labels): "
        + "; ".join(problems),
        where=where,
        expected="the same label names in the same order",
    )


def label_distribution(split: Split) -> dict[str, int]:
    """Number of positive examples per label, in label order."""
    counts = split.labels.sum(axis=0, dtype=np.int64)
    return {name: int(count) for name, count in zip(split.label_names, counts, strict=True)}


def length_distribution(split: Split) -> dict[str, float]:
    """Summary of text lengths in whitespace-separated words (min, median, mean, p95, max)."""
    if not len(split):
        return {"min": 0, "median": 0.0, "mean": 0.0, "p95": 0.0, "max": 0}
    words = np.fromiter(
        (len(text.split()) for text in split.texts), dtype=np.int64, count=len(split)
    )
    return {
        "min": int(words.min()),
        "median": float(np.median(words)),
        "mean": float(words.mean()),
        "p95": float(np.percentile(words, 95)),
        "max": int(words.max()),
    }


# --------------------------------------------------------------------------- internals


@dataclass(frozen=True)
class _Options:
    text_column: str
    labels_column: str | None


@dataclass
class _Table:
    """Records read from one file: column names and (line number, record) pairs."""

    where: str
    columns: list[str]
    rows: list[tuple[int, dict[str, Any]]]


def _order_difference(data: tuple[str, ...], model: tuple[str, ...]) -> str:
    """Describe two label lists that hold the same names yet differ."""
    if len(data) != len(model) or len(set(data)) != len(data):
        return "a label name is repeated"
    position = next(i for i, (a, b) in enumerate(zip(data, model, strict=True)) if a != b)
    return (
        f"same names in a different order: label {position} is {data[position]!r} in the data, "
        f"{model[position]!r} in the model"
    )


def _load_directory(
    folder: Path,
    label_names: tuple[str, ...] | None,
    options: _Options,
    *,
    prefix: str,
    file_prefix: str = "",
) -> dict[str, Split]:
    resolved = _resolve_label_names(label_names, folder)
    splits = {}
    for name in SPLIT_NAMES:
        path = _split_file(folder, f"{file_prefix}{name}")
        if path is not None:
            splits[name] = _load_file(path, name, resolved, options, f"{prefix}/{path.name}")
    if not splits:
        present = sorted(p.name for p in folder.iterdir())[:8]
        raise UserError(
            "no split files found"
            + (f" (it holds {', '.join(present)})" if present else " (it is empty)"),
            where=str(folder),
            expected="train, dev and/or test as .tsv, .csv or .jsonl, e.g. train.tsv",
        )
    return splits


def _split_file(folder: Path, name: str) -> Path | None:
    candidates = [
        folder / f"{name}{ext}" for ext in FILE_FORMATS if (folder / f"{name}{ext}").is_file()
    ]
    if len(candidates) > 1:
        raise UserError(
            f"ambiguous split {name!r}: {', '.join(p.name for p in candidates)}",
            where=str(folder),
            expected="one file per split",
        )
    return candidates[0] if candidates else None


def _resolve_label_names(label_names: tuple[str, ...] | None, folder: Path) -> tuple[str, ...]:
    """Label names in id order: given ones, else labels.txt beside the data, else GoEmotions'."""
    labels_file = folder / LABELS_FILE
    from_file = _read_labels_file(labels_file) if labels_file.is_file() else None
    if label_names is not None:
        if from_file is not None:
            check_label_set(from_file, label_names, where=str(labels_file))
        return label_names
    return from_file if from_file is not None else GOEMOTIONS_LABELS


def _read_labels_file(path: Path) -> tuple[str, ...]:
    names = tuple(line.strip() for line in _read_text(path).splitlines() if line.strip())
    if not names:
        raise UserError("empty labels file", where=str(path), expected="one label name per line")
    return names


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # utf-8-sig: tolerate a byte-order mark
    except UnicodeDecodeError as error:
        raise UserError(
            f"not UTF-8 text ({error.reason} at byte {error.start})", where=str(path)
        ) from None


def _load_file(
    path: Path, name: str, label_names: tuple[str, ...], options: _Options, description: str
) -> Split:
    text = _read_text(path)
    if not text.strip():
        raise UserError("empty file", where=str(path), expected="one example per line")
    readers = {".tsv": _read_tsv, ".csv": _read_csv, ".jsonl": _read_jsonl}
    table = readers[path.suffix.lower()](text, str(path), options)
    if not table.rows:
        raise UserError(
            "no examples (only a header)", where=str(path), expected="at least one example"
        )
    return _split_from_table(table, name, label_names, options, description)


def _read_tsv(text: str, where: str, options: _Options) -> _Table:
    """GoEmotions format: text, label ids, optional id; no quoting (texts hold raw quotes).

    A first line starting with the text column's name is taken as a header naming the columns.
    """
    lines = text.splitlines()
    first = lines[0].split("\t")
    if first[0] == options.text_column:
        columns, body, first_line_no = first, lines[1:], 2
        field_counts, layout = {len(first)}, "<TAB>".join(first)
    else:
        columns = [options.text_column, options.labels_column or "labels", ID_COLUMN]
        body, first_line_no = lines, 1
        field_counts, layout = {2, 3}, "text<TAB>label ids[<TAB>id]"
    rows = []
    for line_no, line in enumerate(body, start=first_line_no):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) not in field_counts:
            raise UserError(
                f"malformed line: {len(fields)} tab-separated field(s)",
                where=f"{where}:{line_no}",
                expected=layout,
            )
        # not strict: a headerless line may leave out the id
        rows.append((line_no, dict(zip(columns, fields, strict=False))))
    return _Table(where, columns, rows)


def _read_csv(text: str, where: str, options: _Options) -> _Table:
    reader = csv.reader(io.StringIO(text, newline=""))  # keeps newlines inside quoted fields
    try:
        header = next(reader)
        rows = []
        for fields in reader:
            if not fields:
                continue
            if len(fields) != len(header):
                raise UserError(
                    f"malformed row: {len(fields)} field(s), the header has {len(header)}",
                    where=f"{where}:{reader.line_num}",
                    expected="one value per header column (quote fields holding commas)",
                )
            rows.append((reader.line_num, dict(zip(header, fields, strict=True))))
    except csv.Error as error:
        raise UserError(f"malformed CSV: {error}", where=f"{where}:{reader.line_num}") from None
    return _Table(where, header, rows)


def _read_jsonl(text: str, where: str, options: _Options) -> _Table:
    rows = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserError(
                f"malformed line: not valid JSON ({error.msg})",
                where=f"{where}:{line_no}",
                expected="one JSON object per line",
            ) from None
        if not isinstance(record, dict):
            raise UserError(
                f"malformed line: a JSON {type(record).__name__}",
                where=f"{where}:{line_no}",
                expected="one JSON object per line",
            )
        rows.append((line_no, record))
    columns = list(rows[0][1]) if rows else []
    return _Table(where, columns, rows)


def _split_from_table(
    table: _Table, name: str, label_names: tuple[str, ...], options: _Options, description: str
) -> Split:
    _require_columns(table, [options.text_column])
    labels_column = _labels_column(table, options)
    if labels_column is not None:
        parser = _LabelParser(label_names)
        label_ids = [
            parser.parse(_field(table, line_no, row, labels_column), f"{table.where}:{line_no}")
            for line_no, row in table.rows
        ]
    else:
        _require_one_hot_columns(table, label_names)
        label_ids = [
            _one_hot_ids(row, label_names, f"{table.where}:{line_no}")
            for line_no, row in table.rows
        ]
    texts = [_text(table, line_no, row, options.text_column) for line_no, row in table.rows]
    ids = [_example_id(row, number) for number, (_, row) in enumerate(table.rows, start=1)]
    return Split(
        name, texts, _multi_hot(label_ids, len(label_names)), label_names, ids, description
    )


def _labels_column(table: _Table, options: _Options) -> str | None:
    """The column holding label lists, or None when labels are one 0/1 column per name."""
    if options.labels_column is not None:
        _require_columns(table, [options.labels_column])
        return options.labels_column
    return next((c for c in LABELS_COLUMN_CANDIDATES if c in table.columns), None)


def _require_columns(table: _Table, needed: Iterable[str]) -> None:
    missing = [column for column in needed if column not in table.columns]
    if missing:
        raise UserError(
            f"missing column {', '.join(repr(c) for c in missing)}; it has "
            + (", ".join(repr(c) for c in table.columns) or "no columns"),
            where=table.where,
            expected="a text column and a labels column (or one 0/1 column per label)",
        )


def _require_one_hot_columns(table: _Table, label_names: tuple[str, ...]) -> None:
    missing = [name for name in label_names if name not in table.columns]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise UserError(
            f"no labels column ({' or '.join(LABELS_COLUMN_CANDIDATES)}) and no 0/1 column for "
            f"{len(missing)} of {len(label_names)} labels: {shown}",
            where=table.where,
            expected="a labels column with label ids or names, or one 0/1 column per label name",
        )


def _field(table: _Table, line_no: int, row: dict[str, Any], column: str) -> Any:
    if column not in row:  # JSONL records may differ from the first one
        raise UserError(
            f"missing field {column!r}",
            where=f"{table.where}:{line_no}",
            expected=f"every record to have {column!r}",
        )
    return row[column]


def _text(table: _Table, line_no: int, row: dict[str, Any], column: str) -> str:
    value = _field(table, line_no, row, column)
    if not isinstance(value, str):
        raise UserError(
            f"field {column!r} is a {type(value).__name__}",
            where=f"{table.where}:{line_no}",
            expected="a string",
        )
    return value


def _example_id(row: dict[str, Any], number: int) -> str:
    value = row.get(ID_COLUMN)
    return str(value) if value not in (None, "") else str(number)


def _one_hot_ids(row: dict[str, Any], label_names: tuple[str, ...], where: str) -> list[int]:
    ids = []
    for index, name in enumerate(label_names):
        value = row.get(name, 0)
        flag = (
            _ONE_HOT_STRINGS.get(value.strip().lower())
            if isinstance(value, str)
            else (int(value) if value in (0, 1) else None)
        )
        if flag is None:
            raise UserError(f"column {name!r} holds {value!r}", where=where, expected="0 or 1")
        if flag:
            ids.append(index)
    return ids


class _LabelParser:
    """Turns one labels value ("3,27", "[3, 27]", [3, 27], "joy,gratitude", 5) into label ids."""

    def __init__(self, label_names: tuple[str, ...]):
        self.label_names = label_names
        # one lookup for both spellings keeps 43k GoEmotions lines fast
        self._lookup = {str(i): i for i in range(len(label_names))}
        self._lookup.update({name: i for i, name in enumerate(label_names)})

    def parse(self, value: Any, where: str) -> list[int]:
        if isinstance(value, str):
            tokens = value.strip().strip("[]").split(",")
            return [
                self._token(token.strip().strip("\"'"), where) for token in tokens if token.strip()
            ]
        if isinstance(value, list):
            return [self._item(item, where) for item in value]
        if value is None:
            return []
        return [self._item(value, where)]

    def _item(self, item: Any, where: str) -> int:
        if isinstance(item, str):
            return self._token(item.strip(), where)
        if isinstance(item, int) and not isinstance(item, bool):
            return self._token(str(item), where)
        raise UserError(
            f"label {item!r} is a {type(item).__name__}",
            where=where,
            expected="label ids (integers) or label names",
        )

    def _token(self, token: str, where: str) -> int:
        index = self._lookup.get(token)
        if index is not None:
            return index
        count = len(self.label_names)
        if token.lstrip("-").isdigit():
            raise UserError(
                f"unknown label id {token} ({count} labels)",
                where=where,
                expected=f"label ids 0-{count - 1}",
            )
        known = ", ".join(self.label_names[:6]) + (", ..." if count > 6 else "")
        raise UserError(
            f"unknown label {token!r}",
            where=where,
            expected=f"label ids 0-{count - 1} or one of the {count} names ({known})",
        )


def _multi_hot(label_ids: list[list[int]], n_labels: int) -> np.ndarray:
    matrix = np.zeros((len(label_ids), n_labels), dtype=np.uint8)
    lengths = np.fromiter(map(len, label_ids), dtype=np.intp, count=len(label_ids))
    columns = np.fromiter(
        itertools.chain.from_iterable(label_ids), dtype=np.intp, count=int(lengths.sum())
    )
    matrix[np.repeat(np.arange(len(label_ids)), lengths), columns] = 1
    return matrix


# --------------------------------------------------------------------------- hub


def _load_hub(
    spec: str, label_names: tuple[str, ...] | None, options: _Options
) -> dict[str, Split]:
    name, _, config = spec.partition(":")
    if not name:
        raise UserError(
            f"empty hub dataset name in 'hub:{spec}'", expected="hub:NAME or hub:NAME:CONFIG"
        )
    try:
        import datasets
    except ImportError:
        raise UserError(
            f"loading hub:{spec} needs the 'datasets' package, which is not installed",
            expected="pip install 'emocompress[hub]', or a local directory of train/dev/test files",
        ) from None
    try:
        loaded = datasets.load_dataset(name, config or None)
    except (
        Exception
    ) as error:  # offline, unknown name, bad config: many exception types, one message
        raise UserError(
            f"cannot load hub dataset {spec!r}: {type(error).__name__}: {error}",
            expected="network access (or a cached copy) and an existing dataset name",
        ) from None
    splits = {}
    for hub_split, dataset in loaded.items():
        split_name = _HUB_SPLIT_NAMES.get(hub_split, hub_split)
        table = _Table(
            f"hub:{spec}[{hub_split}]",
            list(dataset.column_names),
            list(enumerate(dataset.to_list(), start=1)),
        )
        names = label_names or _hub_label_names(dataset, options) or GOEMOTIONS_LABELS
        splits[split_name] = _split_from_table(
            table, split_name, names, options, f"hub:{spec} {hub_split}"
        )
    return splits


def _hub_label_names(dataset: Any, options: _Options) -> tuple[str, ...] | None:
    """Label names from a ClassLabel (or a sequence of ClassLabel) feature, when the dataset has one."""
    for column in (options.labels_column, *LABELS_COLUMN_CANDIDATES):
        feature = dataset.features.get(column) if column else None
        inner = getattr(feature, "feature", feature)
        if getattr(inner, "names", None):
            return tuple(inner.names)
    return None
