"""Bounded YAML: aliases are counted and their expansion sized *before* anything is built.

A YAML alias is a reference, so nine levels of nine aliases are 9**9 values once expanded
(a "billion laughs"): PyYAML builds them shared, but anything that walks the data (``${VAR}``
substitution, validation, a dump) expands them and runs out of memory. :func:`load_yaml`
composes the node graph, refuses more than :data:`MAX_ALIASES` aliases, a recursive alias,
or an expansion past :data:`MAX_NODES` values or :data:`MAX_CHARS` characters, and only
then constructs Python objects. Every refusal is a :class:`YamlLimit` (a ``ValueError``).
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_ALIASES = 256
MAX_NODES = 100_000  # values after expanding aliases (GoEmotions recipes: a few hundred)
MAX_CHARS = 4 * 1024 * 1024  # characters of scalars after expanding aliases
MAX_BYTES = 1024 * 1024  # a recipe file


class YamlLimit(ValueError):
    """The YAML is over a bound (aliases, expanded size, depth)."""


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts aliases while composing."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise YamlLimit(
                    f"more than {MAX_ALIASES} aliases (*name) at line {mark.line + 1}; "
                    "a recipe needs a few at most"
                )
        return super().compose_node(parent, index)


def check_expansion(node: yaml.Node) -> None:
    """Size the node graph as if every alias were expanded; YamlLimit past the bounds."""
    sizes: dict[int, tuple[int, int]] = {}
    open_nodes: set[int] = set()

    def size(current: yaml.Node) -> tuple[int, int]:
        key = id(current)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            mark = current.start_mark
            raise YamlLimit(
                f"a recursive alias (an anchor used inside itself) at line {mark.line + 1}"
            )
        open_nodes.add(key)
        if isinstance(current, yaml.ScalarNode):
            found = (1, len(current.value))
        else:
            children = (
                [part for pair in current.value for part in pair]
                if isinstance(current, yaml.MappingNode)
                else list(current.value)
            )
            nodes, chars = 1, 0
            for child in children:
                n, c = size(child)
                nodes, chars = nodes + n, chars + c
                if nodes > MAX_NODES or chars > MAX_CHARS:
                    break
            found = (nodes, chars)
        open_nodes.discard(key)
        if found[0] > MAX_NODES:
            raise YamlLimit(
                f"expands to more than {MAX_NODES:,} values (an alias counts all it repeats)"
            )
        if found[1] > MAX_CHARS:
            raise YamlLimit(f"expands to more than {MAX_CHARS:,} characters of text")
        sizes[key] = found
        return found

    size(node)


def load_yaml(text: str, loader: type[BoundedLoader] = BoundedLoader) -> Any:
    """One YAML document, bounded (module docstring). yaml.YAMLError for bad syntax,
    YamlLimit for a document over a bound (or nested too deeply to read)."""
    if len(text) > MAX_BYTES:
        raise YamlLimit(
            f"{len(text):,} characters is too large for a recipe (at most {MAX_BYTES:,})"
        )
    instance = loader(text)
    try:
        node = instance.get_single_node()
        if node is None:
            return None
        check_expansion(node)
        return instance.construct_document(node)
    except RecursionError:
        raise YamlLimit("nested too deeply") from None
    finally:
        instance.dispose()
