"""Run-to-run noise of the headline metrics: the spread over training seeds -> metrics/noise.json.

The pipeline's outputs are the same bytes on every run, so rerunning a commit moves nothing. What
the review report (``python -m imagesearch.review``) needs instead is how far a metric moves for a
change that should not matter: here, refitting with another ``train.seed`` (other CV folds,
negatives and early-stopping split). Each seed runs as a DVC experiment in a temporary copy
(``dvc exp run --temp -S train.seed=S``: train, evaluate and index rerun, nothing upstream), the
headline metrics are read back from ``dvc exp show``, and the experiments are removed again.

    python -m benchmarks.seed_noise --seeds 1 2 3 4

Needs the pipeline reproduced and committed (``--temp`` runs see only committed files).
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
from pathlib import Path

import yaml

from imagesearch.atomic import write_json
from imagesearch.modeling.headline import HEADLINE
from imagesearch.review import NOISE, dvc

log = logging.getLogger("seed_noise")


def experiment_metrics() -> dict[str, dict]:
    """``dvc exp show --json`` as {experiment name: {metrics file: data}}."""
    found = {}
    for baseline in json.loads(dvc("exp", "show", "--json", "--no-fetch")):
        for exp in baseline.get("experiments") or []:
            for rev in exp.get("revs") or []:
                if rev.get("name"):
                    metrics = (rev.get("data") or {}).get("metrics") or {}
                    found[rev["name"]] = {file: entry["data"] for file, entry in metrics.items()}
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--out", type=Path, default=NOISE)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    committed = yaml.safe_load(Path("params.yaml").read_text())["train"]["seed"]
    names = []
    for seed in args.seeds:
        name = f"noise-seed-{seed}"
        log.info("dvc exp run --temp -S train.seed=%d", seed)
        dvc("exp", "run", "--temp", "-n", name, "-S", f"train.seed={seed}")
        names.append(name)
    runs = experiment_metrics()
    dvc("exp", "remove", *names)

    current = {file: json.loads(Path(file).read_text()) for file in {h.file for h in HEADLINE}}
    samples = [current] + [runs[name] for name in names]
    metrics = {}
    for h in HEADLINE:
        values = [float(sample[h.file][h.key]) for sample in samples]
        metrics[f"{h.file}:{h.key}"] = {"label": h.label, "std": statistics.stdev(values),
                                        "values": [round(v, 6) for v in values]}
        log.info("%-28s std %.4f over %d seeds", h.label, metrics[f"{h.file}:{h.key}"]["std"], len(values))
    write_json(args.out, {"what": "sample std of each headline metric over training seeds",
                          "seeds": [committed, *args.seeds],
                          "command": "python -m benchmarks.seed_noise --seeds " + " ".join(map(str, args.seeds)),
                          "metrics": metrics})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
