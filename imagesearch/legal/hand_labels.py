"""The hand labels the legal stage measures the text rule against (``hand_labels.csv``).

They live beside the term list they check; ``hand_labels.md`` gives the labelling rule. A missing
or malformed file is an error naming the file: a silent skip would hide the rule's precision.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

HAND_LABELS_PATH = Path(__file__).with_name("hand_labels.csv")
COLUMNS = ("query_id", "child")


def load_hand_labels(path: str | Path = HAND_LABELS_PATH) -> pd.DataFrame:
    """(query_id, child 0/1, ...) rows; FileNotFoundError / ValueError name the file and problem."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: hand labels for the legal text rule are missing "
                                "(query_id,child rows; see hand_labels.md beside the term list)")
    labels = pd.read_csv(path, dtype={"query_id": str})
    missing = [c for c in COLUMNS if c not in labels.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    child = pd.to_numeric(labels["child"], errors="coerce")
    bad = ~child.isin([0, 1])
    if bad.any():
        raise ValueError(f"{path}: line {int(bad.to_numpy().argmax()) + 2}: child must be 0 or 1")
    return labels.assign(child=child.astype(int))
