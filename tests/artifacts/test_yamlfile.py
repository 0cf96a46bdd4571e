"""Bounded YAML: alias bombs and recursive aliases are refused before any expansion."""

from __future__ import annotations

import time

import pytest
import yaml

from emocompress.artifacts import yamlfile
from emocompress.artifacts.yamlfile import YamlLimit, load_yaml


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "description:\n" + "\n".join("  " + line for line in lines) + "\n"


def test_an_alias_bomb_is_refused_quickly():
    started = time.perf_counter()
    with pytest.raises(YamlLimit, match="expands to more than 100,000 values"):
        load_yaml(alias_bomb())
    assert time.perf_counter() - started < 5


def test_a_document_of_too_many_plain_values_is_refused_without_blaming_aliases():
    # it said "aliases repeat what they name" of a file that has none
    text = "[" + ",".join(["1"] * (yamlfile.MAX_NODES + 1)) + "]\n"
    assert len(text) < yamlfile.MAX_BYTES and "*" not in text
    with pytest.raises(YamlLimit, match="expands to more than 100,000 values") as refused:
        load_yaml(text)
    assert "aliases repeat" not in str(refused.value)


def test_too_many_aliases_are_refused():
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * (yamlfile.MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(YamlLimit, match=f"more than {yamlfile.MAX_ALIASES} aliases"):
        load_yaml(text)


def test_long_strings_repeated_by_aliases_are_refused():
    text = f"a: &a {'x' * 100_000}\nb: [" + ", ".join(["*a"] * 50) + "]\n"
    with pytest.raises(YamlLimit, match="characters of text"):
        load_yaml(text)


def test_a_recursive_alias_is_refused():
    with pytest.raises(YamlLimit, match="recursive alias"):
        load_yaml("a: &a [1, *a]\n")


def test_deep_nesting_is_a_limit_not_a_crash():
    with pytest.raises((YamlLimit, yaml.YAMLError)):
        load_yaml("[" * 5000 + "]" * 5000)


def test_ordinary_anchors_and_merge_keys_still_work():
    data = load_yaml("base: &b {epochs: 1, lr: 0.1}\nv: {<<: *b, lr: 0.2}\nw: *b\n")
    assert data["v"] == {"epochs": 1, "lr": 0.2} and data["w"] == {"epochs": 1, "lr": 0.1}
    assert load_yaml("") is None
