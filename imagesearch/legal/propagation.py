"""Caption -> image propagation: a flagged caption blocks every image it describes.

A caption describes its own image and every image annotators confirmed as matching it (expert
mean or crowd share at or above the legal params' thresholds), so a child described by any
confirmed caption is blocked in every photo that shows it.
"""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

def described_images(
    pairs: pd.DataFrame, expert_confirm_mean: float, crowd_confirm_share: float
) -> pd.DataFrame:
    """(image, query_id) for every caption and each image it describes.

    A caption describes its own image (``query_image``) and every image annotators confirmed:
    expert mean >= ``expert_confirm_mean`` (1-4 scale) or crowd share >= ``crowd_confirm_share``;
    rows with source "own" count as confirmed.
    """
    missing = {"image", "query_id", "query_image"} - set(pairs.columns)
    if missing:
        raise ValueError(f"pairs lack columns {sorted(missing)}")
    own = pd.DataFrame({"image": pairs["query_image"], "query_id": pairs["query_id"]})
    confirmed = pd.Series(False, index=pairs.index)
    if "expert_mean" in pairs:
        confirmed |= pairs["expert_mean"].astype(float).ge(expert_confirm_mean).fillna(False)
    if "crowd_share" in pairs:
        confirmed |= pairs["crowd_share"].astype(float).ge(crowd_confirm_share).fillna(False)
    if "source" in pairs:
        confirmed |= pairs["source"].eq("own").fillna(False)
    judged = pairs.loc[confirmed, ["image", "query_id"]]
    out = pd.concat([own, judged], ignore_index=True).astype(str)
    return out.drop_duplicates().reset_index(drop=True)


def blocked_images_from_captions(
    pairs: pd.DataFrame,
    flagged_query_ids: pd.DataFrame | Iterable[str],
    expert_confirm_mean: float,
    crowd_confirm_share: float,
) -> pd.DataFrame:
    """Images a flagged caption describes: columns image, rule, words, via_query_id.

    ``flagged_query_ids`` is either :func:`flag_texts` output indexed by query_id (rows with
    ``blocked`` False are ignored) or an iterable of query ids (then rule is "caption").
    One row per image; rule/words are the union over its flagged captions ("age+term",
    "boy,kids"), via_query_id the space-separated sorted query ids that block it.
    """
    if isinstance(flagged_query_ids, pd.DataFrame):
        flags = flagged_query_ids
        if "blocked" in flags:
            flags = flags[flags["blocked"].astype(bool)]
        flags = flags[["rule", "words"]].copy()
    else:
        ids = sorted(set(map(str, flagged_query_ids)))
        flags = pd.DataFrame({"rule": "caption", "words": ""}, index=pd.Index(ids))
    flags.index = flags.index.astype(str)
    flags = flags[~flags.index.duplicated()]
    described = described_images(pairs, expert_confirm_mean, crowd_confirm_share)
    hits = described[described["query_id"].isin(flags.index)]
    hits = hits.join(flags, on="query_id")
    rows = []
    for image, group in hits.sort_values("query_id").groupby("image", sort=True):
        rules = sorted({r for r in group["rule"] if r})
        words = sorted({w for ws in group["words"] for w in str(ws).split(",") if w})
        rows.append((image, "+".join(rules), ",".join(words), " ".join(group["query_id"])))
    return pd.DataFrame(rows, columns=["image", "rule", "words", "via_query_id"]).astype(str)



class CaptionPropagation:
    """The image rule "caption": images described by a flagged caption, with its words as evidence."""

    name = "caption"

    def __init__(self, expert_confirm_mean: float, crowd_confirm_share: float) -> None:
        self.expert_confirm_mean = expert_confirm_mean
        self.crowd_confirm_share = crowd_confirm_share

    def described(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """(image, query_id) for every caption and each image it describes."""
        return described_images(pairs, self.expert_confirm_mean, self.crowd_confirm_share)

    def blocked_images(self, pairs: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
        """Images a flagged caption describes: columns image, rule, words, via_query_id."""
        return blocked_images_from_captions(pairs, flags, self.expert_confirm_mean, self.crowd_confirm_share)
