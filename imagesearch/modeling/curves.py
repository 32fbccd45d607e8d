"""The final model's training curve, logged with DVCLive: train/validation RMSE per iteration.

The relevance model picks its number of trees by early stopping on held-out images
(:meth:`RelevanceModel._fit_booster`); this callback rides on that fit of the final model (not on
the cross-validation folds, which run in parallel and would interleave their steps). DVCLive
writes one ``.tsv`` per curve under ``<dir>/plots/metrics/`` and ``<dir>/metrics.json`` with the
last values and ``best_iteration``; dvc.yaml declares both, and its top-level ``plots:`` draws the
curves. No timestamps are logged, so the files are the same bytes on every run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from dvclive import Live
from dvclive.xgb import DVCLiveCallback

#: XGBoost names the eval sets by position; the model passes (training part, held-out part).
EVAL_SET_NAMES = {"validation_0": "train", "validation_1": "validation"}


class TrainingCurve(DVCLiveCallback):
    """DVCLive's XGBoost callback with readable curve names and ``best_iteration`` in the summary."""

    def __init__(self, folder: str | Path) -> None:
        super().__init__(live=Live(str(folder), save_dvc_exp=False, dvcyaml=None, report=None))

    def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
        for eval_set, data in evals_log.items():
            for metric, values in data.items():
                self.live.log_metric(f"{EVAL_SET_NAMES.get(eval_set, eval_set)}/{metric}", values[-1])
        self.live.next_step()
        return False

    def after_training(self, model: Any) -> Any:
        self.live.summary["best_iteration"] = int(model.best_iteration)
        return super().after_training(model)
