"""The parameter breakdown as a tree: component, layer, tensor, with counts, percent, bars.

Names are never cut (the tree scrolls sideways); a tensor is named relative to its layer
and shows its shape, dtype and bytes.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree

from tui.data import ParamNode, bar


def node_label(node: ParamNode, width: int = 30) -> Text:
    label = Text(node.label.ljust(width))
    label.append(f" {node.parameters:>12,} {node.percent:6.2f}% ")
    label.append(bar(node.percent, 8), style="cyan")
    label.append(f" {node.nbytes:>13,} B")
    if node.detail:
        label.append(f"  {node.detail}", style="dim")
    return label


class ParamTree(Tree):
    def show(self, root: ParamNode) -> None:
        self.clear()
        self.root.set_label(node_label(root))
        self._add(self.root, root, depth=0)
        self.root.expand()

    def _add(self, parent, node: ParamNode, depth: int) -> None:
        width = max(1, 30 - 4 * (depth + 1))
        for child in node.children:
            if child.children:
                branch = parent.add(node_label(child, width), expand=depth == 0)
                self._add(branch, child, depth + 1)
            else:
                parent.add_leaf(node_label(child, width))
