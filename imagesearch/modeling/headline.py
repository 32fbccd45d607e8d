"""The headline metrics: the few numbers ``dvc exp show`` and a bare ``dvc metrics diff`` show.

The train and evaluate stages write their full reports (per variant, per language, ablation rows)
to ``metrics/detail/`` and, to the metrics files ``dvc.yaml`` declares, only a handful of short
keys picked from them; so an experiment table with one changed param fits a 120-column screen,
and detail is one ``--targets metrics/detail/<file>`` away (docs/team.md, "Reading experiments").
Test figures are on the allowed queries: the ones search answers with photos.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from imagesearch import paths


@dataclass(frozen=True)
class Headline:
    file: str  # the declared metrics file that holds it
    key: str  # its key there (short: it is a column of dvc exp show)
    source: str  # the dotted key in the stage's detail report
    label: str  # how the review report names it; higher is better for each


#: Cross-validation before test: the order the review verdict reads them in.
HEADLINE: tuple[Headline, ...] = (
    Headline(str(paths.CV_METRICS), "cv_mrr", "ranking.mrr", "CV MRR"),
    Headline(str(paths.CV_METRICS), "cv_roc_auc", "roc_auc", "CV ROC-AUC"),
    Headline(str(paths.TEST_METRICS), "test_mrr", "allowed.mrr", "test MRR (allowed)"),
    Headline(str(paths.TEST_METRICS), "test_r1", "allowed.recall_at_1", "test R@1 (allowed)"),
    Headline(str(paths.TEST_METRICS), "test_r10", "allowed.recall_at_10", "test R@10 (allowed)"),
)


def lookup(report: Mapping[str, Any], dotted: str) -> float | None:
    """``report["a"]["b"]`` for ``"a.b"`` (None where the report has none, e.g. a ROC-AUC of one
    class); KeyError names the missing key."""
    value: Any = report
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(f"no {dotted!r} in the metrics report (missing {part!r})")
        value = value[part]
    return None if value is None else float(value)


def headline_of(file: str, report: Mapping[str, Any]) -> dict[str, float | None]:
    """The headline keys of ``file``, picked from the stage's full ``report``."""
    return {h.key: lookup(report, h.source) for h in HEADLINE if h.file == file}
