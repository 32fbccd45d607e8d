"""What every stage entry script does first: logging, offline mode, validated params."""
from __future__ import annotations

import logging
import os
from typing import Any

from imagesearch.params import section
from imagesearch.paths import PARAMS


def start(name: str) -> Any:
    """Configure logging and offline mode, validate params.yaml, return this stage's section.

    A stage with no section of its own (``index``) gets None; the whole file is still validated.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {name} %(levelname)s %(message)s")
    return section(name, PARAMS)

