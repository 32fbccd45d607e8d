"""The review report: what a change does to params, metrics and plots, in one markdown file.

``python -m imagesearch.review [--base REV] [--rev REV] [--out report.md]`` (``make report``)
compares the working tree (or ``--rev``) with a base revision (default ``main``, or ``HEAD~1``
where there is no ``main``). It collects ``dvc params diff``, ``dvc metrics diff`` (with deltas)
and ``dvc plots diff`` (its HTML, and a PNG of it where Chromium is installed), and ends with a
verdict: for cross-validation first (where choices are made), then for the test queries, whether
the headline metrics got better, worse, or stayed within run-to-run noise.

Outputs are byte-identical on every machine, so a rerun of the same commit moves nothing; the
noise that matters is what a change that should not matter does: refitting with another seed.
``benchmarks/seed_noise.py`` measures it (each headline metric over ten and more ``train.seed``
values) into ``metrics/noise.json``. Two runs are two draws, so their difference has a spread of
sqrt(2) times the seeds' standard deviation; a change counts when it exceeds
:data:`NOISE_FACTOR` times that.
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

from imagesearch import paths
from imagesearch.modeling.headline import HEADLINE

log = logging.getLogger(__name__)

NOISE = Path("metrics/noise.json")
#: Full reports beside the headline: not declared as metrics, so diffed by name.
DETAIL_FILES = tuple(str(p) for p in (paths.CV_DETAIL, paths.TEST_DETAIL, paths.ABLATION,
                                       paths.TRAINING_CURVE / "metrics.json"))
#: How many spreads of a two-run difference a change must exceed to count as better or worse
#: (3: about 1 in 370 pure seed changes would be called a move, were the seeds' spread exact).
NOISE_FACTOR = 3.0
BETTER, WORSE, WITHIN, UNMEASURED = "better", "worse", "within noise", "noise not measured"


@dataclass(frozen=True)
class Movement:
    label: str
    old: float | None
    new: float | None
    noise: float | None  # the standard deviation of the metric over training seeds

    @property
    def delta(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old

    @property
    def band(self) -> float | None:
        """How far two runs that differ only in their seed may lie apart."""
        return None if self.noise is None else NOISE_FACTOR * math.sqrt(2.0) * self.noise

    @property
    def judgement(self) -> str:
        if self.delta is None:  # a metric that appeared or disappeared
            return BETTER if self.old is None else WORSE
        if self.band is None:
            return UNMEASURED
        if abs(self.delta) <= self.band:
            return WITHIN
        return BETTER if self.delta > 0 else WORSE

    @property
    def moved(self) -> bool:
        return self.judgement in (BETTER, WORSE)


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
    """``"file:key" -> standard deviation over seeds`` from ``metrics/noise.json`` (empty where
    not measured)."""
    if not path.is_file():
        return {}
    return {name: float(entry["std"]) for name, entry in json.loads(path.read_text())["metrics"].items()}


def movements(diff: dict, noise: dict[str, float]) -> list[Movement]:
    """The headline metrics of a ``dvc metrics diff --json`` with their noise."""
    out = []
    for h in HEADLINE:
        entry = diff.get(h.file, {}).get(h.key)
        if entry is None or _same(entry.get("old"), entry.get("new")):  # unchanged: not a movement
            continue
        out.append(Movement(h.label, entry.get("old"), entry.get("new"), noise.get(f"{h.file}:{h.key}")))
    return out


def group_judgement(moves: list[Movement]) -> str:
    """better / worse / mixed / within noise for a group of metrics (CV or test)."""
    found = {m.judgement for m in moves}
    if BETTER in found and WORSE in found:
        return "mixed"
    for judgement in (BETTER, WORSE, UNMEASURED):
        if judgement in found:
            return judgement
    return WITHIN if moves else "unchanged"


def verdict(moves: list[Movement]) -> str:
    """One line, CV first: better, worse or within noise, naming each metric beyond its noise."""
    parts = []
    for group, prefix in (("CV", "CV "), ("test", "test ")):
        members = [m for m in moves if m.label.startswith(prefix)]
        named = "; ".join(describe(m) for m in members if m.judgement != WITHIN)
        parts.append(f"{group} {group_judgement(members)}" + (f" ({named})" if named else ""))
    return "**Verdict:** " + ", ".join(parts) + "."


def describe(m: Movement) -> str:
    if m.delta is None:
        return f"{m.label} {m.old} → {m.new}"
    band = f"noise ±{m.band:.4f}" if m.band is not None else UNMEASURED
    return f"{m.label} {m.delta:+.4f}, {m.old:.4f} → {m.new:.4f}, {band}"


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
    detail = json.loads(dvc("metrics", "diff", *revs, "--json", "--targets", *DETAIL_FILES) or "{}")
    detail_md = diff_table(detail, base, target, delta=True) or "No detail changed."
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
        "## Detail\n\n" + detail_md,
        "## Plots\n\n" + plots_md,
        f"A headline metric counts as better or worse when its change exceeds {NOISE_FACTOR:g} × √2 × "
        "its standard deviation over training seeds (`metrics/noise.json`, from "
        "`benchmarks/seed_noise.py`): the spread of two runs that differ only in their seed.",
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
