"""Data loading: every accepted format, the demo set, carving, and one test per bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from emocompress.data.labels import GOEMOTIONS_LABELS
from emocompress.data.readers import (
    Split,
    carve,
    check_label_set,
    label_distribution,
    length_distribution,
    load_splits,
    subsample,
)
from emocompress.errors import UserError

GOEMOTIONS_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "goemotions"
ADMIRATION, GRATITUDE, JOY, NEUTRAL = 0, 15, 17, 27


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def positives(split: Split, row: int) -> list[str]:
    return [split.label_names[j] for j in np.flatnonzero(split.labels[row])]


def make_split(n: int = 20) -> Split:
    labels = np.zeros((n, 3), dtype=np.uint8)
    labels[np.arange(n), np.arange(n) % 3] = 1
    return Split(
        name="train",
        texts=[f"text {i}" for i in range(n)],
        labels=labels,
        label_names=("a", "b", "c"),
        ids=[f"id-{i}" for i in range(n)],
        description="toy.tsv",
    )


# --------------------------------------------------------------------------- formats


def test_goemotions_directory(tmp_path: Path) -> None:
    write(tmp_path / "train.tsv", 'He said "wow" and left.\t0,27\tabc1\nThanks!\t15\tabc2\n')
    write(tmp_path / "dev.tsv", "Meh.\t27\tabc3\n")

    splits = load_splits(tmp_path)

    assert list(splits) == ["train", "dev"]
    train = splits["train"]
    assert len(train) == 2 and train.labels.shape == (2, 28) and train.labels.dtype == np.uint8
    assert train.label_names == GOEMOTIONS_LABELS
    assert train.texts[0] == 'He said "wow" and left.'  # quotes kept as written
    assert positives(train, 0) == ["admiration", "neutral"]
    assert positives(train, 1) == ["gratitude"]
    assert train.ids == ["abc1", "abc2"]
    assert train.description == f"{tmp_path.name}/train.tsv"
    assert splits["dev"].ids == ["abc3"]


def test_labels_txt_sets_the_label_names(tmp_path: Path) -> None:
    write(tmp_path / "labels.txt", "calm\nangry\nhappy\n")
    write(tmp_path / "train.tsv", "fine\t0\nugh\t1,2\n")

    train = load_splits(tmp_path)["train"]

    assert train.label_names == ("calm", "angry", "happy")
    assert positives(train, 1) == ["angry", "happy"]
    assert train.ids == ["1", "2"]  # no id column: row numbers


def test_single_tsv_file_is_the_train_split(tmp_path: Path) -> None:
    path = write(tmp_path / "mine.tsv", "hello\t27\tx1\n")
    splits = load_splits(path)
    assert list(splits) == ["train"] and splits["train"].name == "train"
    assert splits["train"].description == "mine.tsv"


def test_tsv_with_header_line(tmp_path: Path) -> None:
    path = write(tmp_path / "train.tsv", "text\tlabels\tid\nyay\t17\tq1\n")
    train = load_splits(path)["train"]
    assert train.texts == ["yay"] and positives(train, 0) == ["joy"] and train.ids == ["q1"]


def test_csv_with_label_id_lists(tmp_path: Path) -> None:
    write(
        tmp_path / "train.csv",
        'id,text,labels\nr1,"Thanks, really",15\nr2,"so happy, thank you","17,15"\n'
        'r3,"list form","[0, 27]"\nr4,"names work too","joy,gratitude"\n',
    )
    train = load_splits(tmp_path)["train"]
    assert train.texts[0] == "Thanks, really"
    assert [positives(train, i) for i in range(4)] == [
        ["gratitude"],
        ["gratitude", "joy"],
        ["admiration", "neutral"],
        ["gratitude", "joy"],
    ]
    assert train.ids == ["r1", "r2", "r3", "r4"]


def test_csv_with_one_hot_columns(tmp_path: Path) -> None:
    names = ("calm", "angry", "happy")
    write(tmp_path / "data.csv", "text,calm,angry,happy\nok then,1,0,0\ngrr yay,0,1,1\n")

    train = load_splits(tmp_path / "data.csv", label_names=names)["train"]

    assert train.label_names == names
    np.testing.assert_array_equal(train.labels, [[1, 0, 0], [0, 1, 1]])


def test_csv_one_hot_goemotions_columns_need_no_label_names(tmp_path: Path) -> None:
    header = "text," + ",".join(GOEMOTIONS_LABELS)
    row = "thanks!," + ",".join("1" if name == "gratitude" else "0" for name in GOEMOTIONS_LABELS)
    write(tmp_path / "train.csv", f"{header}\n{row}\n")
    assert positives(load_splits(tmp_path)["train"], 0) == ["gratitude"]


def test_csv_quoted_field_with_newline(tmp_path: Path) -> None:
    write(tmp_path / "train.csv", 'text,labels\n"line one\nline two",27\nnext,17\n')
    train = load_splits(tmp_path)["train"]
    assert train.texts == ["line one\nline two", "next"]


def test_jsonl_with_lists_names_and_custom_columns(tmp_path: Path) -> None:
    records = [
        {"body": "thank you!", "emotions": [15, 17], "id": "j1"},
        {"body": "wow", "emotions": "admiration"},
        {"body": "ok", "emotions": 27},
    ]
    write(tmp_path / "dev.jsonl", "\n".join(json.dumps(r) for r in records) + "\n\n")

    dev = load_splits(tmp_path, text_column="body", labels_column="emotions")["dev"]

    assert dev.texts == ["thank you!", "wow", "ok"]
    assert [positives(dev, i) for i in range(3)] == [
        ["gratitude", "joy"],
        ["admiration"],
        ["neutral"],
    ]
    assert dev.ids == ["j1", "2", "3"]


def test_directory_mixing_formats(tmp_path: Path) -> None:
    write(tmp_path / "train.csv", "text,labels\na,1\n")
    write(tmp_path / "test.jsonl", '{"text": "b", "labels": [2]}\n')
    assert list(load_splits(tmp_path)) == ["train", "test"]


def test_given_label_names_are_checked_against_labels_txt(tmp_path: Path) -> None:
    write(tmp_path / "labels.txt", "calm\nangry\n")
    write(tmp_path / "train.tsv", "fine\t0\n")
    assert load_splits(tmp_path, label_names=["calm", "angry"])["train"].label_names == (
        "calm",
        "angry",
    )
    with pytest.raises(UserError, match="labels.txt.*missing from the data: happy"):
        load_splits(tmp_path, label_names=["calm", "angry", "happy"])


# --------------------------------------------------------------------------- demo set


def test_demo_set_covers_every_label() -> None:
    splits = load_splits("demo")

    assert list(splits) == ["train", "dev"]
    for name, minimum in (("train", 10), ("dev", 3)):
        split = splits[name]
        assert split.label_names == GOEMOTIONS_LABELS
        assert split.labels.shape == (len(split), 28)
        counts = label_distribution(split)
        assert min(counts.values()) >= minimum, counts
        assert max(counts, key=counts.get) == "neutral"
        assert split.labels.sum(axis=1).min() >= 1  # every example has a label
        assert (split.labels.sum(axis=1) > 1).any()  # and some have several
    assert 300 <= len(splits["train"]) <= 420 and 100 <= len(splits["dev"]) <= 160
    all_ids = splits["train"].ids + splits["dev"].ids
    all_texts = splits["train"].texts + splits["dev"].texts
    assert len(set(all_ids)) == len(all_ids) and all(i.startswith("demo-") for i in all_ids)
    assert len(set(all_texts)) == len(all_texts)


# --------------------------------------------------------------------------- carve, subsample


def test_carve_is_deterministic_disjoint_and_complete() -> None:
    split = make_split(50)

    rest, tune = carve(split, 0.2, seed=13)
    rest_again, tune_again = carve(split, 0.2, seed=13)
    _, tune_other = carve(split, 0.2, seed=14)

    assert (rest.name, tune.name) == ("train", "tune")
    assert len(tune) == 10 and len(rest) == 40
    assert tune.ids == tune_again.ids and rest.ids == rest_again.ids
    assert tune.ids != tune_other.ids
    assert not set(rest.ids) & set(tune.ids)
    assert sorted(rest.ids + tune.ids) == sorted(split.ids)
    assert rest.ids == sorted(rest.ids, key=split.ids.index)  # original order kept
    by_id = dict(zip(split.ids, split.labels.tolist(), strict=True))
    assert all(by_id[i] == row for i, row in zip(tune.ids, tune.labels.tolist(), strict=True))
    assert rest.description == "toy.tsv minus tune (20%, seed 13)"
    assert tune.description == "20% of toy.tsv (seed 13)"


def test_carve_custom_names_and_bad_fraction() -> None:
    dev, test = carve(make_split(10), 0.5, seed=0, names=("dev", "test"))
    assert (dev.name, test.name, len(dev), len(test)) == ("dev", "test", 5, 5)
    with pytest.raises(UserError, match="between 0 and 1"):
        carve(make_split(10), 1.0, seed=0)


def test_subsample() -> None:
    split = make_split(30)

    small = subsample(split, 8, seed=3)

    assert len(small) == 8 and small.name == "train"
    assert small.ids == subsample(split, 8, seed=3).ids
    assert set(small.ids) <= set(split.ids) and len(set(small.ids)) == 8
    assert set(small.ids) <= set(subsample(split, 12, seed=3).ids)  # first n of one permutation
    assert subsample(split, 30, seed=3) is split and subsample(split, 99, seed=3) is split
    assert "8 sampled (seed 3)" in small.description


def test_subset_accepts_a_mask_and_renames() -> None:
    split = make_split(6)
    picked = split.subset(split.labels[:, 0] == 1, name="a-only", description="only a")
    assert picked.ids == ["id-0", "id-3"] and picked.name == "a-only"
    assert picked.description == "only a" and label_distribution(picked) == {"a": 2, "b": 0, "c": 0}


def test_split_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        Split("x", ["a", "b"], np.zeros((3, 2)), ("p", "q"), ["1", "2"], "bad")


def test_length_distribution() -> None:
    split = make_split(4)  # every text has two words
    assert length_distribution(split) == {
        "min": 2,
        "median": 2.0,
        "mean": 2.0,
        "p95": 2.0,
        "max": 2,
    }


# --------------------------------------------------------------------------- label sets


def test_check_label_set_accepts_identical_sets() -> None:
    check_label_set(GOEMOTIONS_LABELS, list(GOEMOTIONS_LABELS), where="model")


def test_check_label_set_names_missing_and_extra_labels() -> None:
    with pytest.raises(UserError) as caught:
        check_label_set(
            ["joy", "anger", "meh"], ["joy", "anger", "fear"], where="model/config.json"
        )
    message = str(caught.value)
    assert message.startswith("model/config.json:")
    assert "missing from the data: fear" in message and "not in the model: meh" in message


def test_check_label_set_names_order_difference() -> None:
    with pytest.raises(UserError, match="different order: label 0 is 'anger' in the data, 'joy'"):
        check_label_set(["anger", "joy"], ["joy", "anger"], where="model")


# --------------------------------------------------------------------------- bad input


def test_unknown_label_id(tmp_path: Path) -> None:
    path = write(tmp_path / "train.tsv", "fine\t27\tx1\nwhat\t3,31\tx2\n")
    with pytest.raises(UserError, match=r"train\.tsv:2: unknown label id 31 \(28 labels\)"):
        load_splits(tmp_path)
    assert path.exists()


def test_unknown_label_name(tmp_path: Path) -> None:
    write(tmp_path / "train.csv", "text,labels\nyay,joyy\n")
    with pytest.raises(UserError, match=r"train\.csv:2: unknown label 'joyy'"):
        load_splits(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    write(tmp_path / "train.tsv", "\n")
    with pytest.raises(UserError, match=r"train\.tsv: empty file"):
        load_splits(tmp_path)


def test_header_only_csv(tmp_path: Path) -> None:
    write(tmp_path / "train.csv", "text,labels\n")
    with pytest.raises(UserError, match="no examples"):
        load_splits(tmp_path)


def test_missing_text_column(tmp_path: Path) -> None:
    write(tmp_path / "train.csv", "body,labels\nhi,27\n")
    with pytest.raises(
        UserError, match=r"train\.csv: missing column 'text'; it has 'body', 'labels'"
    ):
        load_splits(tmp_path)


def test_missing_labels_column(tmp_path: Path) -> None:
    write(tmp_path / "train.csv", "text,admiration\nhi,1\n")
    with pytest.raises(UserError, match="no labels column .* 27 of 28 labels: amusement"):
        load_splits(tmp_path)
    with pytest.raises(UserError, match="missing column 'emotions'"):
        load_splits(tmp_path, labels_column="emotions")


def test_label_set_mismatch_with_labels_txt(tmp_path: Path) -> None:
    write(tmp_path / "labels.txt", "calm\nangry\n")
    write(tmp_path / "train.tsv", "fine\t0\n")
    with pytest.raises(UserError, match="not in the model: calm, angry"):
        check_label_set(
            load_splits(tmp_path)["train"].label_names, GOEMOTIONS_LABELS, where="teacher"
        )


def test_no_split_files(tmp_path: Path) -> None:
    write(tmp_path / "notes.txt", "nothing here")
    with pytest.raises(
        UserError, match=r"no split files found \(it holds notes\.txt\).*train\.tsv"
    ):
        load_splits(tmp_path)


def test_ambiguous_split_files(tmp_path: Path) -> None:
    write(tmp_path / "train.tsv", "a\t1\n")
    write(tmp_path / "train.csv", "text,labels\na,1\n")
    with pytest.raises(UserError, match="ambiguous split 'train': train.tsv, train.csv"):
        load_splits(tmp_path)


@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [
        (
            "train.tsv",
            "good\t1\tx\nno tab here\n",
            r"train\.tsv:2: malformed line: 1 tab-separated",
        ),
        ("train.tsv", "a\t1\tx\textra\n", r"train\.tsv:1: malformed line: 4 tab-separated"),
        (
            "train.jsonl",
            '{"text": "a", "labels": [1]}\n{"text": "b", \n',
            r"train\.jsonl:2: .*not valid JSON",
        ),
        ("train.jsonl", "[1, 2]\n", r"train\.jsonl:1: malformed line: a JSON list"),
        (
            "train.jsonl",
            '{"text": "a", "labels": 1}\n{"labels": 2}\n',
            r"train\.jsonl:2: missing field 'text'",
        ),
        ("train.csv", "text,labels\na,1\nb,2,3\n", r"train\.csv:3: malformed row: 3 field\(s\)"),
        ("train.csv", "text,calm\na,maybe\n", r"train\.csv:2: column 'calm' holds 'maybe'"),
        (
            "train.jsonl",
            '{"text": "a", "labels": [1.5]}\n',
            r"train\.jsonl:1: label 1\.5 is a float",
        ),
    ],
)
def test_malformed_lines(tmp_path: Path, name: str, content: str, pattern: str) -> None:
    write(tmp_path / name, content)
    with pytest.raises(UserError, match=pattern):
        load_splits(tmp_path, label_names=["calm"] if "calm" in content else None)


def test_unknown_source(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown data source .*nope"):
        load_splits(tmp_path / "nope")
    with pytest.raises(UserError, match=r"unsupported data file type '\.txt'"):
        load_splits(write(tmp_path / "data.txt", "x"))


def test_hub_without_datasets_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(UserError, match="needs the 'datasets' package"):
        load_splits("hub:go_emotions")


# --------------------------------------------------------------------------- real GoEmotions


@pytest.mark.skipif(not GOEMOTIONS_DIR.is_dir(), reason="GoEmotions not in ../shared/data")
def test_real_goemotions() -> None:
    splits = load_splits(GOEMOTIONS_DIR)

    assert len(splits["train"]) == 43_410 and len(splits["dev"]) == 5_426
    for split in splits.values():
        assert split.label_names == GOEMOTIONS_LABELS
        assert split.labels.shape == (len(split), 28)
        assert split.labels.sum(axis=1).min() >= 1
        counts = label_distribution(split)
        assert max(counts, key=counts.get) == "neutral"
        assert min(counts.values()) > 0
