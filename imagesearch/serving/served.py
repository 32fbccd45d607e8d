"""How the served search ranks the test queries, where it is not exhaustive scoring.

Below ``index.two_stage_from`` allowed images the index scores every image, and the ``allowed``
report of :mod:`imagesearch.modeling.evaluation` is exactly what search serves. Past it, the
index holds the two-stage search; ``evaluate`` then also reports the allowed queries ranked by
that search (built here as the index stage builds it), so the metrics show what users get.
"""
from __future__ import annotations

import pandas as pd

from imagesearch.cluster import IN_PROCESS, Tasks
from imagesearch.embedding.vectors import VectorSet
from imagesearch.modeling.evaluation import allowed_masks
from imagesearch.modeling.metrics import ranking_report, ranks_in_top_k
from imagesearch.modeling.relevance import RelevanceModel
from imagesearch.params import SearchParams
from imagesearch.serving.index import build_two_stage
from imagesearch.serving.limits import MAX_K


def served_report(model: RelevanceModel, queries: pd.DataFrame, catalog: list[str], image_set: VectorSet,
                  text_set: VectorSet, blocked_queries: set[str], blocked_images: set[str],
                  search: SearchParams, runner: Tasks = IN_PROCESS) -> dict | None:
    """The allowed queries ranked by the two-stage search, gold ranks counted within the top
    MAX_K; None where the allowed catalog is below ``search.two_stage_from``. ``runner``: where
    the search's image side is computed, as for the index."""
    allowed_queries, allowed_images = allowed_masks(queries, catalog, blocked_queries, blocked_images)
    served_catalog = [image for image, keep in zip(catalog, allowed_images) if keep]
    if len(served_catalog) < search.two_stage_from:
        return None
    two_stage = build_two_stage(model, image_set.take(served_catalog), search, runner)
    served = queries.loc[allowed_queries]
    rows, _ = two_stage.search(text_set.take(list(served["query_id"])), MAX_K)
    gold = served["image"].map({image: row for row, image in enumerate(served_catalog)}).to_numpy()
    return {**ranking_report(ranks_in_top_k(rows, gold)), "depth": MAX_K}
