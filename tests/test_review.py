"""The review report's verdict: which headline metrics moved beyond their measured noise."""
from __future__ import annotations

import json
from pathlib import Path

from imagesearch.review import Movement, load_noise, movements, verdict


def test_a_change_within_twice_the_noise_is_not_a_move() -> None:
    noise = {"metrics/test.json:allowed.mrr": 0.01}
    moves = movements({"metrics/test.json": {"allowed.mrr": {"old": 0.50, "new": 0.515}}}, noise)
    assert moves == [Movement("test MRR (allowed)", 0.50, 0.515, 0.01)]
    assert not moves[0].moved
    assert verdict(moves) == ("**Verdict:** no headline metric moved beyond its run-to-run noise "
                              "(1 changed within noise).")


def test_a_change_beyond_the_noise_is_named_with_its_delta() -> None:
    noise = {"metrics/test.json:allowed.mrr": 0.01}
    moves = movements({"metrics/test.json": {"allowed.mrr": {"old": 0.50, "new": 0.47}},
                       "metrics/cv.json": {"roc_auc": {"old": 0.8, "new": 0.81}}}, noise)
    line = verdict(moves)
    assert "2 headline metric(s) moved" in line
    assert "test MRR (allowed) -0.0300 (0.5000 → 0.4700; noise ±0.0100)" in line
    assert "CV ROC-AUC +0.0100 (0.8000 → 0.8100; noise not measured)" in line


def test_metrics_outside_the_headline_list_do_not_count() -> None:
    assert movements({"metrics/legal.json": {"texts.recall": {"old": 1.0, "new": 0.5}}}, {}) == []
    assert verdict([]) == "**Verdict:** no headline metric moved beyond its run-to-run noise."


def test_a_metric_that_appears_or_disappears_is_a_move() -> None:
    moves = movements({"metrics/cv.json": {"ranking.mrr": {"old": None, "new": 0.45}}}, {})
    assert moves[0].moved and "CV MRR None → 0.45" in verdict(moves)


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
