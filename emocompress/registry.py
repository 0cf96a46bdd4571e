"""Closed name-to-object registries: the one way a recipe or the command line names a thing.

Operations, merge methods, gates, threshold strategies and commands are each one
:class:`Registry`, filled from an explicit list in the module that owns the kind. Names
never resolve to import paths, so a recipe can only reach what the code lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from emocompress.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """An ordered, read-only mapping of names to entries of one kind."""

    def __init__(self, kind: str, entries: Iterable[T], name: Callable[[T], str]) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        for entry in entries:
            key = name(entry)
            if key in self._entries:
                raise RuntimeError(f"{kind} {key!r} is registered twice")
            self._entries[key] = entry

    def lookup(self, name: str) -> T:
        """The entry called ``name``; an unknown name is a :class:`UserError` listing the known."""
        try:
            return self._entries[name]
        except KeyError:
            raise UserError(
                f"unknown {self.kind} {name!r}", expected="one of " + ", ".join(self._entries)
            ) from None

    def names(self) -> list[str]:
        return list(self._entries)

    def values(self) -> list[T]:
        return list(self._entries.values())

    def items(self) -> list[tuple[str, T]]:
        return list(self._entries.items())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
