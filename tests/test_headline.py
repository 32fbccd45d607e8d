"""The headline metrics: picked from the detail reports, short and unique enough for one screen."""
import pytest

from imagesearch.modeling.headline import HEADLINE, headline_of, lookup


def test_headline_picks_its_keys_from_the_full_report() -> None:
    report = {"allowed": {"mrr": 0.5, "recall_at_1": 0.3, "recall_at_10": 0.9}, "mrr": 0.4}
    assert headline_of("metrics/test.json", report) == {"test_mrr": 0.5, "test_r1": 0.3, "test_r10": 0.9}
    assert headline_of("metrics/cv.json", {"ranking": {"mrr": 0.45}, "roc_auc": 0.87}) == {
        "cv_mrr": 0.45, "cv_roc_auc": 0.87}


def test_a_metric_the_report_could_not_compute_stays_empty() -> None:
    """Tiny data: one class among the held-out pairs, so no ROC-AUC."""
    assert headline_of("metrics/cv.json", {"ranking": {"mrr": 0.4}, "roc_auc": None}) == {
        "cv_mrr": 0.4, "cv_roc_auc": None}


def test_a_missing_key_is_named() -> None:
    with pytest.raises(KeyError, match="allowed.mrr.*'allowed'"):
        lookup({"mrr": 0.4}, "allowed.mrr")


def test_headline_keys_are_unique_and_short_and_cv_comes_first() -> None:
    keys = [h.key for h in HEADLINE]
    assert len(set(keys)) == len(keys)  # dvc exp show names a column by its key alone
    assert max(map(len, keys)) <= 10
    files = [h.file for h in HEADLINE]
    assert files == sorted(files, key=lambda f: f != "metrics/cv.json")  # the verdict reads CV first
