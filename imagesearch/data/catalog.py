"""What search searches: the catalog is the dataset's test split (its 100 photos), in name order.

The train split's photos only teach the model; the test split's photos are the ones people find.
Every stage and report that needs "the catalog" asks :func:`catalog_images`.
"""
from __future__ import annotations

import pandas as pd

CATALOG_SPLIT = "test"


def catalog_images(images: pd.DataFrame) -> pd.DataFrame:
    """The catalog rows of the clean image table (columns as given), sorted by image name."""
    return images.loc[images["split"] == CATALOG_SPLIT].sort_values("image")
