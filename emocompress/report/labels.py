"""Point labels that never overlap, and the check that no text of a figure overlaps another.

:func:`place_point_labels` labels scatter points after the figure's layout is settled:
points at the same spot share one label ("a, b"); each label tries positions around its
point (right, left, above, below, then further out) and takes the first whose box stays
inside the axes and overlaps no other text, legend or marker; failing that, the position
with the least overlap. :func:`overlapping_texts` lists every pair of visible texts (titles,
tick labels, axis labels, legend entries, annotations) and legends whose boxes intersect:
the tests and ``emocompress report`` run it on every figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# offsets from the point, in points, with the text's alignment there
_CANDIDATES = [
    ((6, 0), "left", "center"),
    ((-6, 0), "right", "center"),
    ((0, 7), "center", "bottom"),
    ((0, -7), "center", "top"),
    ((6, 7), "left", "bottom"),
    ((-6, 7), "right", "bottom"),
    ((6, -7), "left", "top"),
    ((-6, -7), "right", "top"),
    ((0, 16), "center", "bottom"),
    ((0, -16), "center", "top"),
    ((8, 16), "left", "bottom"),
    ((-8, 16), "right", "bottom"),
    ((8, -16), "left", "top"),
    ((-8, -16), "right", "top"),
    ((0, 26), "center", "bottom"),
    ((0, -26), "center", "top"),
]
_MARKER_PT = 6.0  # half the size of a marker's box (the Pareto ring included), in points
_LINE_STEP_PX = 3.0  # lines are sampled every few pixels: a label should not sit on one


@dataclass
class PointLabel:
    x: float
    y: float
    text: str


def group_coincident(points: list[PointLabel], ax: Any, pixels: float = 4.0) -> list[PointLabel]:
    """Points within ``pixels`` of each other on screen become one label, names joined."""
    groups: list[tuple[tuple[float, float], list[PointLabel]]] = []
    for point in points:
        where = ax.transData.transform((point.x, point.y))
        for (gx, gy), members in groups:
            if abs(gx - where[0]) <= pixels and abs(gy - where[1]) <= pixels:
                members.append(point)
                break
        else:
            groups.append(((where[0], where[1]), [point]))
    return [
        PointLabel(members[0].x, members[0].y, ", ".join(m.text for m in members))
        for _, members in groups
    ]


def _overlap(a: Any, b: Any) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


def place_point_labels(ax: Any, points: list[PointLabel], *, fontsize: float = 7) -> list[Any]:
    """Annotate ``points`` on ``ax`` (call once the figure's layout is drawn); returns the
    annotations."""
    from matplotlib.transforms import Bbox

    fig = ax.figure
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    scale = fig.dpi / 72.0
    inside = ax.get_window_extent(renderer)
    obstacles = [box for box in _text_boxes(fig, renderer)]
    obstacles += [legend.get_window_extent(renderer) for legend in _legends(fig)]
    for point in points:  # every marker, so no label hides one
        cx, cy = ax.transData.transform((point.x, point.y))
        half = _MARKER_PT * scale
        obstacles.append(Bbox.from_extents(cx - half, cy - half, cx + half, cy + half))
    obstacles += _line_boxes(ax)
    placed = []
    for point in group_coincident(points, ax):
        best, best_cost = None, None
        for offset, ha, va in _CANDIDATES:
            note = ax.annotate(
                point.text,
                (point.x, point.y),
                xytext=offset,
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=fontsize,
                annotation_clip=False,
            )
            note.set_in_layout(False)
            box = note.get_window_extent(renderer)
            outside = 0.0 if _contains(inside, box) else box.width * box.height
            cost = outside + sum(_overlap(box, other) for other in obstacles)
            if best_cost is None or cost < best_cost:
                if best is not None:
                    best[0].remove()
                best, best_cost = (note, box), cost
            else:
                note.remove()
            if cost == 0:
                break
        assert best is not None
        obstacles.append(best[1])
        placed.append(best[0])
    return placed


def _line_boxes(ax: Any) -> list[Any]:
    """Small boxes along every data line of ``ax`` (steps drawn as steps)."""
    import numpy as np
    from matplotlib.cbook import STEP_LOOKUP_MAP
    from matplotlib.transforms import Bbox

    boxes = []
    for line in ax.get_lines():
        data = np.asarray(line.get_xydata(), dtype=float)
        if len(data) < 2 or line.get_linestyle() in ("None", "", " "):
            continue
        xs, ys = STEP_LOOKUP_MAP[line.get_drawstyle()](data[:, 0], data[:, 1])
        screen = ax.transData.transform(np.column_stack([xs, ys]))
        for (x0, y0), (x1, y1) in zip(screen[:-1], screen[1:], strict=True):
            steps = max(1, int(np.hypot(x1 - x0, y1 - y0) / _LINE_STEP_PX))
            for t in np.linspace(0.0, 1.0, steps + 1):
                x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
                boxes.append(Bbox.from_extents(x - 1, y - 1, x + 1, y + 1))
    return boxes


def _contains(outer: Any, inner: Any) -> bool:
    return (
        inner.x0 >= outer.x0
        and inner.x1 <= outer.x1
        and inner.y0 >= outer.y0
        and inner.y1 <= outer.y1
    )


def _legends(fig: Any) -> list[Any]:
    """Every visible legend: the figure's, each axes' own and any added as an artist."""
    from matplotlib.legend import Legend

    return [legend for legend in fig.findobj(Legend) if legend.get_visible()]


def _visible_texts(fig: Any) -> list[Any]:
    """The texts a draw of ``fig`` shows: tick labels only of the ticks drawn (inside the
    view), every other visible, non-empty text."""
    from matplotlib.text import Text

    all_ticks, drawn = set(), set()
    for axes in fig.axes:
        for axis in (axes.xaxis, axes.yaxis):
            for tick in axis.majorTicks + axis.minorTicks:
                all_ticks.update({id(tick.label1), id(tick.label2)})
            for tick in axis._update_ticks():  # the ticks a draw shows
                drawn.update({id(tick.label1), id(tick.label2)})
    return [
        text
        for text in fig.findobj(Text)
        if text.get_visible()
        and text.get_text().strip()
        and (id(text) not in all_ticks or id(text) in drawn)
    ]


def _text_boxes(fig: Any, renderer: Any) -> list[Any]:
    return [text.get_window_extent(renderer) for text in _visible_texts(fig)]


def overlapping_texts(fig: Any, tolerance: float = 0.5) -> list[tuple[str, str]]:
    """Every pair of visible texts (and text against a legend it is not part of) whose boxes
    overlap by more than ``tolerance`` square pixels."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    texts = _visible_texts(fig)
    boxes = [text.get_window_extent(renderer) for text in texts]
    found = []
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if _overlap(boxes[i], boxes[j]) > tolerance:
                found.append((texts[i].get_text(), texts[j].get_text()))
    legends = _legends(fig)
    frames = [legend.get_window_extent(renderer) for legend in legends]
    for i in range(len(legends)):
        for j in range(i + 1, len(legends)):
            if _overlap(frames[i], frames[j]) > tolerance:
                found.append((f"legend {i}", f"legend {j}"))
    for legend in legends:
        frame = legend.get_window_extent(renderer)
        own = {id(text) for text in legend.findobj(lambda artist: True)}
        if legend.get_title() is not None:
            own.add(id(legend.get_title()))
        for text, box in zip(texts, boxes, strict=True):
            if id(text) not in own and _overlap(frame, box) > tolerance:
                found.append(
                    (
                        f"legend [{', '.join(t.get_text() for t in legend.get_texts())}]",
                        text.get_text(),
                    )
                )
    return found
