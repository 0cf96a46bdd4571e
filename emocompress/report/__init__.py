"""The report of a run directory: report.md (optionally report.html), figures/ (PNG and
PDF) and per_emotion.csv, every number read from the run's files.

    from emocompress.report import write_report
    result = write_report("runs/quickstart", baseline="teacher", html=True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPORT_FILE = "report.md"
FIGURES_DIR = "figures"
CSV_FILE = "per_emotion.csv"


@dataclass
class ReportResult:
    markdown: Path
    html: Path | None = None
    csv: Path | None = None
    figures: dict[str, list[Path]] = field(default_factory=dict)
    baseline: str = ""
    variants: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # metrics.json vs predictions
    warnings: list[str] = field(default_factory=list)  # the document's "Read this first"


def write_report(
    run_dir: str | os.PathLike[str],
    *,
    baseline: str | None = None,
    out: str | os.PathLike[str] | None = None,
    html: bool = False,
    figures: bool = True,
    formats: tuple[str, ...] = ("png", "pdf"),
    csv: bool = True,
    reporter=None,
) -> ReportResult:
    """Write the report of ``run_dir``; every file is written atomically.

    ``out`` is the Markdown file (default RUN_DIR/report.md); figures/, per_emotion.csv and
    report.html go beside it. Raises UserError for a missing or unfinished run directory,
    an unknown baseline or an unknown figure format.
    """
    from emocompress.artifacts.atomic import atomic_dir, write_text
    from emocompress.errors import UserError
    from emocompress.report import markdown
    from emocompress.report.data import gather

    unknown = [f for f in formats if f not in ("png", "pdf", "svg")]
    if unknown or not formats:
        raise UserError(
            f"figure formats {', '.join(unknown) or '(none)'}", expected="png, pdf or svg"
        )
    run_root = Path(run_dir)
    target = Path(out) if out is not None else run_root / REPORT_FILE
    # comparison.json is written where the report goes into the run directory anyway
    inside = target.resolve().parent == run_root.resolve()
    data = gather(run_dir, baseline, write_comparison=inside)
    if target.is_dir():
        raise UserError(f"{target}: is a directory", expected="a file name for the Markdown report")
    folder = target.parent
    written: dict[str, list[Path]] | None = None
    if figures:
        from emocompress.report.figures import write_figures

        with atomic_dir(folder / FIGURES_DIR) as tmp:
            drawn = write_figures(data, tmp, formats, reporter)
            tmp.chmod(0o755)  # mkdtemp makes it private; the figures are meant to be read
        written = {k: [folder / FIGURES_DIR / p.name for p in v] for k, v in drawn.items()}
    result = ReportResult(
        markdown=target,
        figures=written or {},
        baseline=data.baseline,
        variants=[v.name for v in data.variants],
        problems=[f"{v.name}: {p}" for v in data.variants for p in v.checks],
        warnings=[line.replace("**", "") for line in markdown.warning_lines(data)]
        + [f"left out, unreadable: {problem}" for problem in data.unreadable],
    )
    if csv:
        result.csv = folder / CSV_FILE
        write_text(result.csv, markdown.per_emotion_csv(data))
    text = markdown.render(data, written, csv_name=CSV_FILE if csv else None)
    write_text(target, text)
    if html:
        from emocompress.report.html import to_html

        result.html = target.with_suffix(".html")
        write_text(result.html, to_html(text, title=f"emocompress report: {data.run.root.name}"))
    return result
