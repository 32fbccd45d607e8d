"""Properties of label aggregation (imagesearch.data.labels), checked with hypothesis.

- the target stays in [0, 1] for every strategy and weight;
- more "yes" votes never lower it; higher expert scores never lower it;
- the order of the input rows does not matter.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from imagesearch.data.labels import aggregate, combine, expert_to_unit

STRATEGIES = st.sampled_from(["expert", "crowd", "blend"])
WEIGHT = st.floats(0.0, 1.0)
UNIT_OR_MISSING = st.one_of(st.just(math.nan), st.floats(0.0, 1.0))
N_IMAGES, N_CAPTIONS = 4, 3


# ------------------------------------------------------------------ combine: one pair
@settings(deadline=None)
@given(UNIT_OR_MISSING, UNIT_OR_MISSING, STRATEGIES, WEIGHT)
def test_combine_stays_in_unit_interval(expert, crowd, strategy, weight):
    target = combine(expert, crowd, strategy, weight)
    assert math.isnan(target) or 0.0 <= target <= 1.0
    # NaN means "this strategy has nothing to go on", and only then
    needed = {"expert": [expert], "crowd": [crowd], "blend": [expert, crowd]}[strategy]
    assert math.isnan(target) == all(math.isnan(v) for v in needed)


@settings(deadline=None)
@given(UNIT_OR_MISSING, st.floats(0.0, 1.0), st.floats(0.0, 1.0), STRATEGIES, WEIGHT)
def test_combine_more_yes_never_lowers(expert, crowd_a, crowd_b, strategy, weight):
    low, high = sorted([crowd_a, crowd_b])
    a, b = combine(expert, low, strategy, weight), combine(expert, high, strategy, weight)
    assert math.isnan(a) and math.isnan(b) or b >= a - 1e-12


@settings(deadline=None)
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), UNIT_OR_MISSING, STRATEGIES, WEIGHT)
def test_combine_higher_expert_never_lowers(expert_a, expert_b, crowd, strategy, weight):
    low, high = sorted([expert_a, expert_b])
    a, b = combine(low, crowd, strategy, weight), combine(high, crowd, strategy, weight)
    assert math.isnan(a) and math.isnan(b) or b >= a - 1e-12


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4))
def test_expert_scale_maps_onto_unit_interval(a, b, c):
    assert 0.0 <= expert_to_unit(np.mean([a, b, c])) <= 1.0


# ------------------------------------------------------------------ aggregate: whole tables
def name(i: int) -> str:
    return f"img{i}.jpg"


PAIR = st.tuples(st.integers(0, N_IMAGES - 1), st.integers(0, N_CAPTIONS))  # caption N_CAPTIONS has no text
SCORES = st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4))
VOTES = st.tuples(st.integers(0, 5), st.integers(0, 5)).filter(lambda v: sum(v) > 0)


@st.composite
def judgments(draw):
    expert = draw(st.dictionaries(PAIR, SCORES, max_size=10))
    crowd = draw(st.dictionaries(PAIR, VOTES, max_size=10))
    return expert, crowd


def frames(expert: dict, crowd: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Clean tables as data.validate_dataset hands them to labels."""
    e = pd.DataFrame([{"image": name(i), "query_id": f"{name(q)}#0", "query_image": name(q),
                       "expert_1": s[0], "expert_2": s[1], "expert_3": s[2]} for (i, q), s in expert.items()],
                     columns=["image", "query_id", "query_image", "expert_1", "expert_2", "expert_3"])
    e = e.astype({c: "int64" for c in ["expert_1", "expert_2", "expert_3"]})
    c = pd.DataFrame([{"image": name(i), "query_id": f"{name(q)}#0", "query_image": name(q),
                       "share_yes": y / (y + n), "n_yes": y, "n_no": n} for (i, q), (y, n) in crowd.items()],
                     columns=["image", "query_id", "query_image", "share_yes", "n_yes", "n_no"])
    c = c.astype({"share_yes": "float64", "n_yes": "int64", "n_no": "int64"})
    captions = pd.DataFrame({"query_id": [f"{name(q)}#0" for q in range(N_CAPTIONS)],
                             "query_text": [f"caption {q}" for q in range(N_CAPTIONS)],
                             "query_image": [name(q) for q in range(N_CAPTIONS)], "split": "train"})
    return e, c, captions


def targets(expert: dict, crowd: dict, strategy: str, weight: float, own: float) -> pd.Series:
    e, c, captions = frames(expert, crowd)
    pairs, _ = aggregate(e, c, captions, strategy, weight, own)
    assert not pairs.duplicated(["image", "query_id"]).any()
    return pairs.set_index(["image", "query_id"])["target"]


@settings(max_examples=100, deadline=None)
@given(judgments(), STRATEGIES, WEIGHT, st.floats(0.0, 1.0))
def test_aggregate_targets_in_unit_interval(data, strategy, weight, own):
    result = targets(*data, strategy, weight, own)
    assert result.notna().all()
    assert result.between(0.0, 1.0).all()


@settings(max_examples=100, deadline=None)
@given(judgments(), STRATEGIES, WEIGHT, st.data())
def test_more_yes_votes_never_lower_the_target(data, strategy, weight, draw):
    expert, crowd = data
    assume(crowd)
    pair = draw.draw(st.sampled_from(sorted(crowd)))
    yes, no = crowd[pair]
    more = draw.draw(st.integers(1, 5))
    turned = draw.draw(st.integers(0, no))  # some "no" voters change their minds, more join with "yes"
    before = targets(expert, crowd, strategy, weight, 1.0)
    after = targets(expert, {**crowd, pair: (yes + more + turned, no - turned)}, strategy, weight, 1.0)
    assert set(before.index) == set(after.index)
    assert (after >= before - 1e-12).all(), pd.concat({"before": before, "after": after}, axis=1)


@settings(max_examples=100, deadline=None)
@given(judgments(), STRATEGIES, WEIGHT, st.data())
def test_higher_expert_scores_never_lower_the_target(data, strategy, weight, draw):
    expert, crowd = data
    assume(expert)
    pair = draw.draw(st.sampled_from(sorted(expert)))
    scores = list(expert[pair])
    which = draw.draw(st.integers(0, 2))
    scores[which] = draw.draw(st.integers(scores[which], 4))
    before = targets(expert, crowd, strategy, weight, 1.0)
    after = targets({**expert, pair: tuple(scores)}, crowd, strategy, weight, 1.0)
    assert set(before.index) == set(after.index)
    assert (after >= before - 1e-12).all()


@settings(max_examples=100, deadline=None)
@given(judgments(), STRATEGIES, WEIGHT, st.randoms(use_true_random=False))
def test_row_order_does_not_matter(data, strategy, weight, rng):
    e, c, captions = frames(*data)
    reference, ref_counts = aggregate(e, c, captions, strategy, weight, 1.0)
    shuffled = [frame.sample(frac=1.0, random_state=rng.randrange(2**32)) for frame in (e, c, captions)]
    result, counts = aggregate(*shuffled, strategy, weight, 1.0)
    pd.testing.assert_frame_equal(result.reset_index(drop=True), reference.reset_index(drop=True))
    assert counts == ref_counts


def test_crowd_rows_without_caption_text_add_no_pairs():
    """Regression (found by the row-order property): when no crowd row names a caption with text,
    pandas used to turn them into phantom pairs with no image and no query_id."""
    e, c, captions = frames({}, {(0, N_CAPTIONS): (0, 1), (1, N_CAPTIONS): (0, 2)})
    pairs, counts = aggregate(e, c, captions, "blend", 0.5, 1.0)
    assert pairs["image"].notna().all() and pairs["query_id"].notna().all()
    assert set(pairs["source"]) == {"own"} and counts["crowd_dropped_caption_without_text"] == 2
