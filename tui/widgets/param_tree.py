"""The parameter breakdown as a tree: component, layer, tensor, with counts, percent, bars."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree

from tui.data import ParamNode, bar


def node_label(node: ParamNode, width: int = 44) -> Text:
    label = Text(node.label[:width].ljust(width))
    label.append(f" {node.parameters:>12,} {node.percent:6.2f}% ")
    label.append(bar(node.percent, 16), style="cyan")
    return label


class ParamTree(Tree):
    def show(self, root: ParamNode) -> None:
        self.clear()
        self.root.set_label(node_label(root))
        self._add(self.root, root, depth=0)
        self.root.expand()

    def _add(self, parent, node: ParamNode, depth: int) -> None:
        for child in node.children:
            if child.children:
                branch = parent.add(node_label(child, 44 - 4 * (depth + 1)), expand=depth == 0)
                self._add(branch, child, depth + 1)
            else:
                parent.add_leaf(node_label(child, 44 - 4 * (depth + 1)))
