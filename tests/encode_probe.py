"""Run as a script: encode the given items with each given encoder, print a JSON of sha256s.

``python -m tests.encode_probe SPEC.json`` where SPEC is ``{"images": [...], "texts": [...],
"image": {name: options}, "text": {name: options}}``; the cross-CPU test runs it under two CPU
code paths and compares the digests. It also prints which kernels torch picked, as evidence.
"""
from __future__ import annotations

import hashlib
import json
import sys


def main(spec_path: str) -> None:
    import torch

    from imagesearch.embedding.encoders.image import build_image_encoder
    from imagesearch.embedding.encoders.text import build_text_encoder

    spec = json.loads(open(spec_path).read())
    out = {"capability": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads()}
    for name, options in spec["image"].items():
        vectors = build_image_encoder({"encoder": name, "batch_size": 4, "options": options}).encode(spec["images"])
        out[f"image:{name}"] = hashlib.sha256(vectors.tobytes()).hexdigest()
    for name, options in spec["text"].items():
        encoder = build_text_encoder({"encoder": name, "batch_size": 4, "options": options})
        vectors = encoder.fit(spec["texts"]).encode(spec["texts"])
        out[f"text:{name}"] = hashlib.sha256(vectors.tobytes()).hexdigest()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
