"""One relevance target in [0, 1] per (image, caption) pair, from experts, crowd and captions.

Experts score 1–4 (three each): the mean is rescaled to [0, 1] as ``(mean - 1) / 3``. The crowd
gives the share of "yes" votes. A caption's own image (the part of ``query_id`` before ``#``) is a
positive pair by construction. ``strategy`` decides what to do where experts and crowd both
judged a pair; the agreement statistics on those pairs are the evidence for that choice.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import cohen_kappa_score

Strategy = Literal["expert", "crowd", "blend"]
PAIR_COLUMNS = ["image", "query_id", "query_image", "expert_mean", "crowd_share", "n_votes",
                "source", "target"]


def expert_to_unit(expert_mean: pd.Series | np.ndarray) -> pd.Series | np.ndarray:
    """Rescale an expert mean on the 1–4 scale to [0, 1]."""
    return (expert_mean - 1.0) / 3.0


def combine(expert_unit: float, crowd_share: float, strategy: Strategy, expert_weight: float) -> float:
    """The target of one judged pair; NaN inputs mean "not judged by that group".

    Monotone by construction: a higher expert score or a larger yes share never lowers the target.
    """
    has_expert, has_crowd = not np.isnan(expert_unit), not np.isnan(crowd_share)
    if strategy == "expert":
        return expert_unit if has_expert else np.nan
    if strategy == "crowd":
        return crowd_share if has_crowd else np.nan
    if has_expert and has_crowd:
        return expert_weight * expert_unit + (1.0 - expert_weight) * crowd_share
    return expert_unit if has_expert else crowd_share


def aggregate(expert: pd.DataFrame, crowd: pd.DataFrame, captions: pd.DataFrame, strategy: Strategy,
              expert_weight: float, own_image_target: float) -> tuple[pd.DataFrame, dict]:
    """Merge expert and crowd judgments with the own-image positives into one table of pairs.

    ``expert``: image, query_id, query_image, expert_1..3; ``crowd``: image, query_id, query_image,
    share_yes, n_yes, n_no; ``captions``: query_id, query_image, split (train captions are used).
    Returns the pairs (``PAIR_COLUMNS``) and counts of what was kept and dropped, by reason.
    """
    train_ids = set(captions.loc[captions["split"] == "train", "query_id"])
    judged_expert = expert.assign(
        expert_mean=expert[["expert_1", "expert_2", "expert_3"]].mean(axis=1)
    )[["image", "query_id", "query_image", "expert_mean"]]
    with_text = crowd["query_id"].isin(train_ids)
    # callables, not Series: assigning a Series to an empty frame takes the Series' index (phantom rows)
    judged_crowd = crowd.loc[with_text].assign(
        crowd_share=lambda d: d["share_yes"], n_votes=lambda d: d["n_yes"] + d["n_no"]
    )[["image", "query_id", "query_image", "crowd_share", "n_votes"]]

    pairs = judged_expert.merge(judged_crowd, on=["image", "query_id", "query_image"], how="outer")
    pairs["source"] = np.select(
        [pairs["expert_mean"].notna() & pairs["crowd_share"].notna(), pairs["expert_mean"].notna()],
        ["both", "expert"], default="crowd",
    )
    expert_unit = expert_to_unit(pairs["expert_mean"].to_numpy(dtype=float))
    crowd_share = pairs["crowd_share"].to_numpy(dtype=float)
    pairs["target"] = [combine(e, c, strategy, expert_weight) for e, c in zip(expert_unit, crowd_share)]
    unused = pairs["target"].isna()
    pairs = pairs.loc[~unused]

    own = captions.loc[captions["split"] == "train", ["query_id", "query_image"]].drop_duplicates("query_id")
    own = own.assign(image=own["query_image"])
    is_own = pairs.set_index(["image", "query_id"]).index.isin(own.set_index(["image", "query_id"]).index)
    pairs.loc[is_own, ["source", "target"]] = ["own", own_image_target]
    already = set(zip(pairs["image"], pairs["query_id"]))
    new_own = own.loc[[(i, q) not in already for i, q in zip(own["image"], own["query_id"])]]
    pairs = pd.concat([pairs, new_own.assign(source="own", target=own_image_target)], ignore_index=True)
    pairs = pairs.reindex(columns=PAIR_COLUMNS).sort_values(["image", "query_id"]).reset_index(drop=True)

    counts = {
        "expert_pairs": int(len(judged_expert)),
        "crowd_pairs": int(len(crowd)),
        "crowd_dropped_caption_without_text": int((~with_text).sum()),
        "dropped_by_strategy": int(unused.sum()),
        "judged_pairs_that_are_own_image": int(is_own.sum()),
        "own_image_pairs_added": int(len(new_own)),
        "pairs_out": int(len(pairs)),
        "by_source": {k: int(v) for k, v in pairs["source"].value_counts().sort_index().items()},
    }
    return pairs, counts


def agreement(expert: pd.DataFrame, crowd: pd.DataFrame, match_threshold: float = 3.0) -> dict:
    """How well the experts agree with each other and with the crowd on pairs both judged."""
    scores = expert[["expert_1", "expert_2", "expert_3"]].to_numpy()
    n_distinct = np.array([len(set(row)) for row in scores])
    both = expert.assign(expert_mean=scores.mean(axis=1)).merge(
        crowd[["image", "query_id", "share_yes"]], on=["image", "query_id"], how="inner")
    pairwise_tau = [stats.kendalltau(scores[:, a], scores[:, b]).statistic
                    for a, b in [(0, 1), (0, 2), (1, 2)]]
    result = {
        "experts": {
            "pairs": int(len(scores)),
            "all_three_agree": int((n_distinct == 1).sum()),
            "two_agree": int((n_distinct == 2).sum()),
            "all_differ": int((n_distinct == 3).sum()),
            "mean_pairwise_kendall_tau_b": float(np.mean(pairwise_tau)),
        },
        "experts_vs_crowd": {"pairs_judged_by_both": int(len(both))},
    }
    if len(both) >= 3:
        expert_yes = both["expert_mean"] >= match_threshold
        crowd_yes = both["share_yes"] >= 0.5
        result["experts_vs_crowd"].update({
            "kendall_tau_b": float(stats.kendalltau(both["expert_mean"], both["share_yes"]).statistic),
            "spearman": float(stats.spearmanr(both["expert_mean"], both["share_yes"]).statistic),
            "pearson": float(stats.pearsonr(both["expert_mean"], both["share_yes"]).statistic),
            "mean_abs_diff_unit_scale": float(
                np.abs(expert_to_unit(both["expert_mean"]) - both["share_yes"]).mean()),
            "binary_agreement": float((expert_yes == crowd_yes).mean()),
            "binary_cohen_kappa": float(cohen_kappa_score(expert_yes, crowd_yes)),
            "match_threshold_expert_mean": match_threshold,
        })
    return result
