"""The review report: what a change does to params, metrics and plots, in one markdown file.

``python -m imagesearch.review [--base REV] [--rev REV] [--out report.md]`` (``make report``)
compares the working tree (or ``--rev``) with a base revision (default ``main``, or ``HEAD~1``
where there is no ``main``). It collects ``dvc params diff``, ``dvc metrics diff`` (with deltas)
and ``dvc plots diff`` (its HTML, and a PNG of it where Chromium is installed), and ends with a
verdict: which headline metrics moved by more than their measured run-to-run noise.

Outputs are byte-identical on every machine, so a rerun of the same commit moves nothing; the
noise that matters is what a change that should not matter does: refitting with another seed.
``benchmarks/seed_noise.py`` measures it (the spread of each headline metric over several
``train.seed`` values) into ``metrics/noise.json``; a metric moved when its change exceeds
twice that spread.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

NOISE = Path("metrics/noise.json")
#: The numbers a reviewer looks at first: (metrics file, dotted key, label).
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("metrics/test.json", "allowed.mrr", "test MRR (allowed)"),
    ("metrics/test.json", "allowed.recall_at_1", "test R@1 (allowed)"),
    ("metrics/test.json", "allowed.recall_at_10", "test R@10 (allowed)"),
    ("metrics/test.json", "mrr", "test MRR (all)"),
    ("metrics/cv.json", "ranking.mrr", "CV MRR"),
    ("metrics/cv.json", "roc_auc", "CV ROC-AUC"),
    ("metrics/cv.json", "kendall_tau_b_crowd", "CV Kendall tau-b (crowd)"),
)
#: How many noise spreads a change must exceed to count as moved.
NOISE_FACTOR = 2.0


@dataclass(frozen=True)
class Movement:
    label: str
    old: float | None
    new: float | None
    noise: float | None

    @property
    def delta(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old

    @property
    def moved(self) -> bool:
        if self.delta is None:
            return self.old != self.new
        return abs(self.delta) > NOISE_FACTOR * (self.noise or 0.0)


def dvc(*args: str) -> str:
    """Run a dvc command; its stdout, or a clear error with its stderr."""
    result = subprocess.run([sys.executable, "-m", "dvc", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"dvc {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def default_base() -> str:
    """``main`` where the repository has it, else ``HEAD~1``."""
    has_main = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "main"],
                              capture_output=True).returncode == 0
    return "main" if has_main else "HEAD~1"


def load_noise(path: Path = NOISE) -> dict[str, float]:
    """``"file:key" -> spread`` from ``metrics/noise.json`` (empty where not measured)."""
    if not path.is_file():
        return {}
    return {name: float(entry["std"]) for name, entry in json.loads(path.read_text())["metrics"].items()}


def movements(diff: dict, noise: dict[str, float]) -> list[Movement]:
    """The headline metrics of a ``dvc metrics diff --json`` with their noise."""
    out = []
    for file, key, label in HEADLINE:
        entry = diff.get(file, {}).get(key)
        if entry is None or _same(entry.get("old"), entry.get("new")):  # unchanged: not a movement
            continue
        out.append(Movement(label, entry.get("old"), entry.get("new"), noise.get(f"{file}:{key}")))
    return out


def verdict(moves: list[Movement]) -> str:
    """One line: which headline metrics moved beyond their noise, and by how much."""
    moved = [m for m in moves if m.moved]
    if not moved:
        within = f" ({len(moves)} changed within noise)" if moves else ""
        return f"**Verdict:** no headline metric moved beyond its run-to-run noise{within}."

    def describe(m: Movement) -> str:
        if m.delta is None:
            return f"{m.label} {m.old} → {m.new}"
        noise = f"noise ±{m.noise:.4f}" if m.noise is not None else "noise not measured"
        return f"{m.label} {m.delta:+.4f} ({m.old:.4f} → {m.new:.4f}; {noise})"

    return (f"**Verdict:** {len(moved)} headline metric(s) moved beyond run-to-run noise: "
            + "; ".join(describe(m) for m in moved) + ".")


def screenshot(html: Path, png: Path) -> bool:
    """A full-page PNG of DVC's plots HTML in headless Chromium, once every chart has drawn.

    False where Chromium or Playwright is missing, or the charts do not draw (a page whose vega
    scripts come from a CDN, offline: the project's ``.dvc/plots/page.html`` carries them inline).
    """
    chromium = shutil.which("chromium")
    if chromium is None:
        return False
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        return False
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(html.resolve().as_uri())
            charts = page.locator("div[id] > script").count()
            page.wait_for_function(f"document.querySelectorAll('canvas, svg.marks').length >= {charts}",
                                   timeout=20_000)
            page.screenshot(path=str(png), full_page=True)
        except PlaywrightError as err:
            log.warning("no picture of %s: %s", html, err)
            return False
        finally:
            browser.close()
    return True


def _same(old: object, new: object) -> bool:
    """Equal, counting NaN as equal to NaN (DVC lists a NaN metric as changed on every diff)."""
    return old == new or (isinstance(old, float) and isinstance(new, float) and math.isnan(old) and math.isnan(new))


def _fmt(value: object) -> str:
    return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def diff_table(diff: dict, base: str, target: str, delta: bool) -> str:
    """A markdown table of a ``dvc params/metrics diff --json``, changed entries only."""
    rows = []
    for path, entries in sorted(diff.items()):
        for key, entry in sorted(entries.items()):
            old, new = entry.get("old"), entry.get("new")
            if _same(old, new):
                continue
            change = ""
            if delta:
                change = " | " + (_fmt(new - old) if all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                         for v in (old, new)) else "-")
            rows.append(f"| {path} | {key} | {_fmt(old)} | {_fmt(new)}{change} |")
    if not rows:
        return ""
    header = f"| Path | Key | {base} | {target}" + (" | Change |" if delta else " |")
    rule = "|---|---|---|---" + ("|---|" if delta else "|")
    return "\n".join([header, rule, *rows])


def build_report(base: str, rev: str | None, out: Path, images: bool = True) -> str:
    """Write the markdown report to ``out`` (plots next to it, in ``<out stem>_plots/``)."""
    revs = [base] + ([rev] if rev else [])
    target = rev or "working tree"
    params_md = diff_table(json.loads(dvc("params", "diff", *revs, "--json") or "{}"), base, target,
                           delta=False) or "No params changed."
    metrics = json.loads(dvc("metrics", "diff", *revs, "--json") or "{}")
    metrics_md = diff_table(metrics, base, target, delta=True) or "No metrics changed."
    moves = movements(metrics, load_noise())

    plots_dir = out.parent / f"{out.stem}_plots"
    dvc("plots", "diff", *revs, "-o", str(plots_dir))
    html = plots_dir / "index.html"
    png = plots_dir / "plots.png"
    if images and screenshot(html, png):
        plots_md = f"![plots: {base} against {target}]({png.relative_to(out.parent).as_posix()})"
    else:
        plots_md = f"Open [{html.relative_to(out.parent).as_posix()}]({html.relative_to(out.parent).as_posix()}) in a browser (no Chromium here for a picture)."
    text = "\n\n".join([
        f"# Review: {target} against {base}",
        verdict(moves),
        "## Params\n\n" + params_md,
        "## Metrics\n\n" + metrics_md,
        "## Plots\n\n" + plots_md,
        f"Headline metrics count as moved when the change exceeds {NOISE_FACTOR:g}× the spread "
        "measured over training seeds (`metrics/noise.json`, from `benchmarks/seed_noise.py`).",
    ]) + "\n"
    out.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m imagesearch.review", description=__doc__.split("\n")[0])
    parser.add_argument("--base", default=None, help="base revision (default: main, or HEAD~1 without main)")
    parser.add_argument("--rev", default=None, help="revision to review (default: the working tree)")
    parser.add_argument("--out", type=Path, default=Path("report.md"), help="markdown file to write")
    parser.add_argument("--no-images", action="store_true", help="link the plots HTML instead of a PNG")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    text = build_report(args.base or default_base(), args.rev, args.out, images=not args.no_images)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
