"""The hand labels the legal stage measures the text rule against.

They live beside the term list they check: ``hand_labels.csv`` (query ids of dataset captions,
rule in ``hand_labels.md``), ``hand_labels_ru.csv`` (Russian texts written for this project, rule
in ``hand_labels_ru.md``), ``probes_multilingual.csv`` (German, Spanish, French, Ukrainian
probes, written before the language lists and kept as an extra held-out set) and
``language_sets/<set>.csv`` (one hand-written set per language, rule in its README: ``eval`` rows
held out, ``dev`` rows studied while the lists were written, ``dev2`` and ``dev3`` rows written later by a
second and a third writer for some sets and studied too). A missing or malformed file is an error naming the file: a silent skip would hide the
rule's precision.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imagesearch.errors import InputError

HAND_LABELS_PATH = Path(__file__).with_name("hand_labels.csv")
RUSSIAN_LABELS_PATH = Path(__file__).with_name("hand_labels_ru.csv")
PROBES_PATH = Path(__file__).with_name("probes_multilingual.csv")
LANGUAGE_SETS_DIR = Path(__file__).with_name("language_sets")
LANGUAGE_SETS = ("de", "fr", "es", "it", "pt", "pl", "tr", "uk", "be", "kk", "ru", "ru-latn", "en-disguised")
COLUMNS = ("query_id", "child")


def load_hand_labels(path: str | Path = HAND_LABELS_PATH, columns: tuple[str, ...] = COLUMNS) -> pd.DataFrame:
    """Rows with ``columns`` and child 0/1; an :class:`InputError` names the file and problem."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: hand labels for the legal text rule are missing "
                                "(query_id,child rows; see hand_labels.md beside the term list)")
    labels = pd.read_csv(path, dtype={c: str for c in columns if c != "child"})
    missing = [c for c in columns if c not in labels.columns]
    if missing:
        raise InputError(f"{path}: missing columns {missing}")
    child = pd.to_numeric(labels["child"], errors="coerce")
    bad = ~child.isin([0, 1])
    if bad.any():
        raise InputError(f"{path}: line {int(bad.to_numpy().argmax()) + 2}: child must be 0 or 1")
    return labels.assign(child=child.astype(int))


def scores_by_language(check: Callable[[str], Any]) -> dict[str, Any]:
    """``check(text) -> Verdict`` (the term list's ``TextRule.check``, or ``LegalPolicy.check_text``
    with the second line) on the texts written for this project: Russian labels, then each probe
    language.

    Returns {"ru": {n, positives, predicted, recall, precision}, "de": ..., ...}.
    """
    sets = {"ru": load_hand_labels(RUSSIAN_LABELS_PATH, ("text_id", "text", "child"))}
    probes = load_hand_labels(PROBES_PATH, ("text_id", "lang", "text", "child"))
    sets.update({lang: group for lang, group in probes.groupby("lang", sort=True)})
    return {lang: binary_scores(frame["child"].to_numpy(),
                                np.array([check(text).blocked for text in frame["text"]]))
            for lang, frame in sets.items()}


def load_language_set(name: str) -> pd.DataFrame:
    """One hand-written set: text_id, lang, split (eval/dev/dev2/dev3), child, kind, text."""
    return load_hand_labels(LANGUAGE_SETS_DIR / f"{name}.csv", ("text_id", "lang", "split", "child", "kind", "text"))


def scores_by_set(check: Callable[[str], Any], split: str = "eval") -> dict[str, Any]:
    """``check(text) -> Verdict`` on the ``split`` rows of every language set that exists yet:
    {set: {n, positives, predicted, recall, precision}}."""
    scores = {}
    for name in LANGUAGE_SETS:
        if (LANGUAGE_SETS_DIR / f"{name}.csv").is_file():
            frame = load_language_set(name)
            frame = frame[frame["split"] == split]
            if frame.empty:  # dev2/dev3 rows exist for some sets only
                continue
            scores[name] = binary_scores(frame["child"].to_numpy(), np.array([check(t).blocked for t in frame["text"]]))
    return scores


def binary_scores(truth: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """n, positives, predicted, recall and precision of 0/1 predictions (None where undefined)."""
    truth, predicted = truth.astype(bool), predicted.astype(bool)
    tp = int((truth & predicted).sum())
    return {
        "n": int(len(truth)),
        "positives": int(truth.sum()),
        "predicted": int(predicted.sum()),
        "recall": tp / truth.sum() if truth.sum() else None,
        "precision": tp / predicted.sum() if predicted.sum() else None,
    }
