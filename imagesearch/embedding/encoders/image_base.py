"""The image side's base: :class:`ImageEncoder` and its input pipeline, and the torch CNN base.

All backends share one input pipeline (:meth:`ImageEncoder.encode`): a small thread pool decodes,
resizes and centre-crops the next images while the model runs on the current batch. Pillow and
torch both release the GIL in their heavy loops, so decoding overlaps compute even in threads,
and there is no process start-up or tensor pickling as with DataLoader workers.

Backends only say how large a crop they want and how to turn a ``(n, h, w, 3)`` uint8 batch into
features. Each lives in its own module and registers by name in
:data:`~imagesearch.embedding.encoders.registry.IMAGE_ENCODERS`; this module imports none of them.
"""
from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Union

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from imagesearch.embedding.encoders.base import Encoder
from imagesearch.embedding.vectors import stable_unit_rows

ImageItem = Union[str, os.PathLike, Image.Image]


def load_rgb(item: ImageItem) -> Image.Image:
    """Open a path (or pass through a PIL image) as a fully decoded RGB image."""
    if isinstance(item, Image.Image):
        image = item
    else:
        image = Image.open(item)
        image.draft("RGB", image.size)  # JPEG: decode straight to RGB, no separate conversion
    return image if image.mode == "RGB" else image.convert("RGB")


def resize_center_crop(image: Image.Image, resize: int, crop: int) -> np.ndarray:
    """Short side to ``resize`` (bilinear, antialiased), centre crop ``crop`` square -> HWC uint8.

    Geometry follows torchvision's ``Resize(int)`` + ``CenterCrop``. Instead of resizing the whole
    image and then cropping, it resamples only the source box that lands in the crop (PIL's
    ``resize(box=...)``): the same sampling grid and filter scale, ~40% fewer output pixels.
    """
    width, height = image.size
    if width <= height:
        new_w, new_h = resize, int(resize * height / width)
    else:
        new_w, new_h = int(resize * width / height), resize
    top = int(round((new_h - crop) / 2.0))
    left = int(round((new_w - crop) / 2.0))
    if top < 0 or left < 0:
        raise ValueError(f"crop {crop} is larger than the resized image {new_w}x{new_h}")
    sx, sy = width / new_w, height / new_h
    box = (left * sx, top * sy, (left + crop) * sx, (top + crop) * sy)
    out = image.resize((crop, crop), Image.BILINEAR, box=box)
    return np.asarray(out, dtype=np.uint8)


def as_item_list(items: ImageItem | Sequence[ImageItem]) -> list[ImageItem]:
    """One image (a path or a PIL image) or a sequence of them, as a list."""
    if isinstance(items, (str, os.PathLike, Image.Image)):
        return [items]
    return list(items)


class ImageEncoder(Encoder):
    """Base of image backends: the shared, overlapped decode -> batch -> model loop.

    Subclasses set ``crop_size``/``resize_size`` and implement :meth:`_load_model` and
    :meth:`_embed` (uint8 ``(n, h, w, 3)`` -> float ``(n, d)``).
    """

    kind = "image"
    crop_size: int = 224
    resize_size: int = 256

    def __init__(self, options=None, batch_size: int = 32, decode_workers: int | None = None):
        super().__init__(options, batch_size)
        # Threads that decode ahead of the model. One is enough on 2 cores (decoding is ~4x
        # cheaper than the model); more only helps on bigger machines.
        self.decode_workers = decode_workers or max(1, min(4, (os.cpu_count() or 2) // 2))

    # -- what subclasses provide (and :meth:`Encoder._load_model`) ---------------------------
    def _embed(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- shared machinery --------------------------------------------------------------------
    def prepare(self, item: ImageItem) -> np.ndarray:
        """Decode and preprocess one image into the uint8 crop the model takes.

        A file that does not decode raises ``ValueError`` naming it (on a cluster too)."""
        try:
            return resize_center_crop(load_rgb(item), self.resize_size, self.crop_size)
        except (OSError, SyntaxError) as error:  # PIL's errors for truncated or foreign bytes
            if isinstance(item, Image.Image):
                raise
            raise ValueError(f"{item}: cannot decode the image ({type(error).__name__}: {error})") from error

    def embed_prepared(self, batch: np.ndarray) -> np.ndarray:
        """Model only: a uint8 ``(n, h, w, 3)`` batch -> raw features (benchmarks use this)."""
        self.model  # noqa: B018  (load outside any timing the caller does per batch)
        return self._embed(batch)

    def iter_prepared(self, items: Sequence[ImageItem]) -> Iterator[np.ndarray]:
        """Preprocessed crops in input order, decoded ahead of the consumer by a thread pool."""
        ahead = max(2 * self.batch_size, 8)
        with ThreadPoolExecutor(self.decode_workers, thread_name_prefix="decode") as pool:
            pending: deque = deque()
            source = iter(items)
            for item in source:
                pending.append(pool.submit(self.prepare, item))
                if len(pending) >= ahead:
                    break
            while pending:
                done = pending.popleft().result()
                for item in source:
                    pending.append(pool.submit(self.prepare, item))
                    break
                yield done

    def encode(
        self,
        items: ImageItem | Sequence[ImageItem],
        batch_size: int | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """Encode images (paths or PIL images; a single one is allowed) -> ``(n, dim)`` float32.

        Rows are L2-normalised, in the order of ``items``, and the same bytes on every CPU
        (:func:`~imagesearch.embedding.vectors.stable_unit_rows`).
        """
        items = as_item_list(items)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch_size = batch_size or self.batch_size
        self.model  # noqa: B018  (load before the decode threads start)
        out: list[np.ndarray] = []
        batch: list[np.ndarray] = []
        with tqdm(total=len(items), desc=f"embed images ({self.name})", unit="img",
                  disable=not progress) as bar:
            for crop in self.iter_prepared(items):
                batch.append(crop)
                if len(batch) == batch_size:
                    out.append(self._embed(np.stack(batch)))
                    bar.update(len(batch))
                    batch = []
            if batch:
                out.append(self._embed(np.stack(batch)))
                bar.update(len(batch))
        return stable_unit_rows(np.concatenate(out))


# -- the torch CNN base (efficientnet.py, resnet.py) ---------------------------------------------
class TorchImageEncoder(ImageEncoder):
    """A torch CNN whose pooled features are the vector, run in inference mode in float64.

    Why float64: float32 convolutions differ between CPU kernels (AVX-512 / AVX2 / scalar, thread
    counts) by ~1e-7, float64 ones by ~1e-16, which the encoders' output grid absorbs, so the
    vectors are the same bytes on any x86-64 CPU. It costs ~3.6x the model time of float32
    channels-last (EfficientNet-Lite1, 32 crops: 5.7 s against 1.6 s here); in float64 the plain
    NCHW layout is the faster one (channels-last: 10.3 s).

    Options: ``tta_flip`` — average the features of each crop and of its horizontal mirror
    (twice the model time; a mirrored image then gets the same vector as the original);
    ``precision`` — ``float64`` (default) or ``float32``: the faster channels-last float32 path,
    whose vectors may differ in the last bits between CPUs (and so may every output after them).
    """

    precisions = ("float64", "float32")

    def __init__(self, options=None, batch_size: int = 32, decode_workers: int | None = None):
        super().__init__(options, batch_size, decode_workers)
        if self.options.get("precision", "float64") not in self.precisions:
            raise ValueError(f"{self.name}: options.precision must be one of {self.precisions}, "
                             f"got {self.options['precision']!r}")

    @property
    def _float64(self) -> bool:
        return self.options.get("precision", "float64") == "float64"

    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)

    def _features(self, x: "torch.Tensor") -> "torch.Tensor":  # noqa: F821
        return self.model(x)

    def _embed(self, batch: np.ndarray) -> np.ndarray:
        import torch

        dtype = torch.float64 if self._float64 else torch.float32
        layout = torch.contiguous_format if self._float64 else torch.channels_last
        with torch.inference_mode():
            x = torch.from_numpy(batch).permute(0, 3, 1, 2).to(dtype)
            mean = torch.tensor(self.mean, dtype=dtype).mul_(255.0).view(1, 3, 1, 1)
            std = torch.tensor(self.std, dtype=dtype).mul_(255.0).view(1, 3, 1, 1)
            x = x.sub_(mean).div_(std).contiguous(memory_format=layout)
            features = self._features(x)
            if self.options.get("tta_flip"):
                features = (features + self._features(x.flip(3).contiguous(memory_format=layout))) / 2
            return features.double().numpy()

    def _prepare_module(self, module: "torch.nn.Module") -> "torch.nn.Module":  # noqa: F821
        import torch

        module.eval()
        module.requires_grad_(False)
        if self._float64:
            return module.to(dtype=torch.float64)
        return module.to(memory_format=torch.channels_last)
