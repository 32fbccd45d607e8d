"""The review report's verdict: which headline metrics moved beyond their measured noise."""
from __future__ import annotations

import json
from pathlib import Path

from imagesearch.review import Movement, load_noise, movements, verdict


def test_a_change_within_the_two_run_band_is_within_noise() -> None:
    noise = {"metrics/test.json:test_mrr": 0.01}  # band: 3 * sqrt(2) * 0.01 = 0.0424
    moves = movements({"metrics/test.json": {"test_mrr": {"old": 0.50, "new": 0.54}}}, noise)
    assert moves == [Movement("test MRR (allowed)", 0.50, 0.54, 0.01)]
    assert moves[0].judgement == "within noise" and not moves[0].moved
    assert verdict(moves) == "**Verdict:** CV unchanged, test within noise."


def test_beyond_the_band_is_better_or_worse_cv_first() -> None:
    noise = {"metrics/test.json:test_mrr": 0.01, "metrics/cv.json:cv_mrr": 0.005}
    moves = movements({"metrics/test.json": {"test_mrr": {"old": 0.50, "new": 0.44}},
                       "metrics/cv.json": {"cv_mrr": {"old": 0.45, "new": 0.48},
                                           "cv_roc_auc": {"old": 0.8, "new": 0.81}}}, noise)
    assert [m.label for m in moves] == ["CV MRR", "CV ROC-AUC", "test MRR (allowed)"]
    assert [m.judgement for m in moves] == ["better", "noise not measured", "worse"]
    line = verdict(moves)
    assert line.startswith("**Verdict:** CV better (CV MRR +0.0300, 0.4500 → 0.4800, noise ±0.0212; ")
    assert "CV ROC-AUC +0.0100, 0.8000 → 0.8100, noise not measured" in line
    assert line.endswith("test worse (test MRR (allowed) -0.0600, 0.5000 → 0.4400, noise ±0.0424).")


def test_metrics_outside_the_headline_list_do_not_count() -> None:
    assert movements({"metrics/legal.json": {"texts.recall": {"old": 1.0, "new": 0.5}}}, {}) == []
    assert verdict([]) == "**Verdict:** CV unchanged, test unchanged."


def test_a_metric_that_appears_or_disappears_is_a_move() -> None:
    moves = movements({"metrics/cv.json": {"cv_mrr": {"old": None, "new": 0.45}}}, {})
    assert moves[0].moved and "CV MRR None → 0.45" in verdict(moves)


def test_a_pure_seed_change_is_within_noise_for_every_pair_of_measured_seeds() -> None:
    """The committed noise file's own runs: any two seeds, judged against each other."""
    from itertools import combinations

    from imagesearch.modeling.headline import HEADLINE
    from imagesearch.review import NOISE

    repo = Path(__file__).resolve().parents[1]
    recorded = json.loads((repo / NOISE).read_text())["metrics"]
    noise = load_noise(repo / NOISE)
    assert len(recorded["metrics/cv.json:cv_mrr"]["values"]) >= 10
    for h in HEADLINE:
        for old, new in combinations(recorded[f"{h.file}:{h.key}"]["values"], 2):
            moves = movements({h.file: {h.key: {"old": old, "new": new}}}, noise)
            assert all(m.judgement == "within noise" for m in moves), (h.key, old, new)


def test_noise_file_is_read_as_file_key_to_spread(tmp_path: Path) -> None:
    path = tmp_path / "noise.json"
    path.write_text(json.dumps({"seeds": [1, 2], "metrics": {"metrics/cv.json:roc_auc": {"std": 0.002, "values": [0.8, 0.81]}}}))
    assert load_noise(path) == {"metrics/cv.json:roc_auc": 0.002}
    assert load_noise(tmp_path / "absent.json") == {}


def test_diff_table_lists_changes_with_deltas_and_skips_nan_noise() -> None:
    from imagesearch.review import diff_table

    table = diff_table({"metrics/cv.json": {"roc_auc": {"old": 0.8, "new": 0.85},
                                            "kappa": {"old": float("nan"), "new": float("nan")},
                                            "encoder": {"old": "a", "new": "b"}}}, "main", "HEAD", delta=True)
    lines = table.splitlines()
    assert lines[0] == "| Path | Key | main | HEAD | Change |"
    assert "| metrics/cv.json | roc_auc | 0.8000 | 0.8500 | 0.0500 |" in lines
    assert "| metrics/cv.json | encoder | a | b | - |" in lines
    assert not any("kappa" in line for line in lines)
    assert diff_table({"params.yaml": {"x": {"old": float("nan"), "new": float("nan")}}}, "a", "b", False) == ""
    assert movements({"metrics/cv.json": {"roc_auc": {"old": float("nan"), "new": float("nan")}}}, {}) == []
