"""Vision–language image backends (``clip``, ``siglip``): the image towers, through ``transformers``.

A CLIP or SigLIP model embeds images and texts into one space, trained so that an image and its
caption have a high cosine. The image tower is registered here in
:data:`~imagesearch.embedding.encoders.registry.IMAGE_ENCODERS`; the text tower, under the same
names, in :data:`~imagesearch.embedding.encoders.registry.TEXT_ENCODERS` (``vision_language_text.py``).
The two sides stay in separate modules on purpose: the embed_images stage must not run
text-encoder code and embed_texts must not run image-encoder code (``encoders/__init__.py``, and
tests/test_embedding_layout.py), so that editing one side does not re-embed the other. What both
sides need lives in ``vl_common.py``, zero-shot similarity included.

Options (both sides): ``model`` — a hub id (``openai/clip-vit-base-patch32``,
``google/siglip-base-patch16-224``) or a local folder written by ``save_pretrained``;
``device`` — ``cpu``, ``cuda`` or ``auto`` (cuda when torch sees a GPU), a placement setting that
is no part of the cache key or of anything written (it is taken out of ``options``); image side
only: ``precision`` — ``float64`` (default: the same bytes on every CPU, see
:class:`~imagesearch.embedding.encoders.image_base.TorchImageEncoder`) or ``float32`` (faster).

Zero-shot similarity (``vl_common.py``): when both embed stages use the same vision–language
model (``shares_vision_language_model`` on the two vector files' ``encoder`` records),
``zero_shot_cosine`` of an image's and a text's vectors is the model's own image–text score, with
no fitting at all; the relevance model then has it as one more pair feature next to the
ridge-mapped ``i2t`` cosine (``joint_space.VisionLanguageSpace``, feature ``vl_cosine``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from PIL import Image

from imagesearch.embedding.encoders.image_base import ImageEncoder, ImageItem, load_rgb
from imagesearch.embedding.encoders.registry import IMAGE_ENCODERS
from imagesearch.embedding.encoders.vl_common import ModelFiles, check_options, torch_device


# -- the image tower ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PixelRecipe:
    """The model's image processor config, applied with Pillow and numpy/torch here.

    Same geometry as transformers' image processors (shortest edge to ``size`` then centre crop
    for CLIP, a plain resize to ``height x width`` for SigLIP), on the uint8 image as their PIL
    backend does, and then rescale + normalise in the model's dtype. Doing it here, not with the
    processor's default torchvision backend, keeps the crops the same bytes on every CPU.
    """

    shortest_edge: int | None
    size: tuple[int, int] | None        # (height, width) of a plain resize
    crop: tuple[int, int] | None        # (height, width) of the centre crop
    resample: int
    rescale: float | None
    mean: tuple[float, float, float] | None
    std: tuple[float, float, float] | None

    @classmethod
    def from_processor(cls, config: dict[str, Any]) -> "PixelRecipe":
        size = config.get("size") if config.get("do_resize", True) else None
        if isinstance(size, int):
            size = {"shortest_edge": size}
        crop = config.get("crop_size") if config.get("do_center_crop", False) else None
        if isinstance(crop, int):
            crop = {"height": crop, "width": crop}
        recipe = cls(
            shortest_edge=int(size["shortest_edge"]) if size and "shortest_edge" in size else None,
            size=(int(size["height"]), int(size["width"])) if size and "height" in size else None,
            crop=(int(crop["height"]), int(crop["width"])) if crop else None,
            resample=int(config.get("resample", Image.BICUBIC)),
            rescale=float(config.get("rescale_factor", 1 / 255)) if config.get("do_rescale", True) else None,
            mean=tuple(config["image_mean"]) if config.get("do_normalize", True) else None,
            std=tuple(config["image_std"]) if config.get("do_normalize", True) else None,
        )
        if recipe.output_size is None:
            raise ValueError(f"unsupported image processor config (the crops would not all have one "
                             f"size): size={config.get('size')}, crop_size={config.get('crop_size')}")
        return recipe

    @property
    def output_size(self) -> tuple[int, int] | None:
        """(height, width) of every prepared image."""
        return self.crop or self.size

    def prepare(self, image: Image.Image) -> np.ndarray:
        """An RGB image -> the ``(h, w, 3)`` uint8 pixels the model takes (before rescaling)."""
        if self.shortest_edge is not None:
            width, height = image.size
            short, long = (width, height) if width <= height else (height, width)
            new_long = int(self.shortest_edge * long / short)
            size = (self.shortest_edge, new_long) if width <= height else (new_long, self.shortest_edge)
            image = image.resize(size, self.resample)
        elif self.size is not None:
            image = image.resize((self.size[1], self.size[0]), self.resample)
        if self.crop is not None:
            width, height = image.size
            top, left = (height - self.crop[0]) // 2, (width - self.crop[1]) // 2
            image = image.crop((left, top, left + self.crop[1], top + self.crop[0]))
        return np.asarray(image, dtype=np.uint8)


class VisionLanguageImage(ModelFiles, ImageEncoder):
    """The image tower of a CLIP/SigLIP model: ``get_image_features`` (the projected embedding).

    See the module docstring for the options. The model loads whole through ``from_pretrained``
    and its text tower is dropped right away (half the memory, in float64).
    """

    model_class: str = ""
    text_tower: tuple[str, ...] = ()  # attributes of the loaded model the image side never uses

    def __init__(self, options=None, batch_size: int = 32, decode_workers: int | None = None):
        super().__init__(options, batch_size, decode_workers)
        check_options(self.name, self.options)
        self.device_option: str = self.options.pop("device", "auto")

    @property
    def precision(self) -> str:
        return self.options.get("precision", "float64")

    @cached_property
    def recipe(self) -> PixelRecipe:
        from transformers import AutoImageProcessor

        return PixelRecipe.from_processor(AutoImageProcessor.from_pretrained(self.folder).to_dict())

    @property
    def crop_size(self) -> int:  # type: ignore[override]
        return self.recipe.output_size[0]

    @property
    def resize_size(self) -> int:  # type: ignore[override]
        return self.recipe.shortest_edge or self.recipe.output_size[0]

    def identity(self) -> dict[str, Any]:
        """The weights' content, not the path or hub id they came from; never the device."""
        return {"name": self.name, "version": self.version, "precision": self.precision,
                "weights_sha256": self.weights_sha256}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "weights_sha256": self.weights_sha256}

    @property
    def dim(self) -> int:
        raise NotImplementedError

    def prepare(self, item: ImageItem) -> np.ndarray:
        return self.recipe.prepare(load_rgb(item))

    def _load_model(self) -> Any:
        device = torch_device(self.device_option)
        model = self.load_tower(self.model_class, self.text_tower)
        if self.precision == "float64":
            model = model.double()
        return model.to(device)

    def _embed(self, batch: np.ndarray) -> np.ndarray:
        import torch

        dtype = torch.float64 if self.precision == "float64" else torch.float32
        device = next(self.model.parameters()).device
        recipe = self.recipe
        with torch.inference_mode():
            x = torch.from_numpy(batch).permute(0, 3, 1, 2).to(dtype)
            if recipe.rescale is not None:
                x = x * recipe.rescale
            if recipe.mean is not None:
                mean = torch.tensor(recipe.mean, dtype=dtype).view(1, 3, 1, 1)
                std = torch.tensor(recipe.std, dtype=dtype).view(1, 3, 1, 1)
                x = (x - mean) / std
            out = self.model.get_image_features(pixel_values=x.contiguous().to(device))
            features = getattr(out, "pooler_output", out)  # transformers 5: an output object
            return features.to("cpu", torch.float64).numpy()


@IMAGE_ENCODERS.register("clip")
class ClipImage(VisionLanguageImage):
    """CLIP's image tower (e.g. ``openai/clip-vit-base-patch32``: 512-d)."""

    model_class = "CLIPModel"
    text_tower = ("text_model", "text_projection")

    @property
    def dim(self) -> int:
        return int(self.model_config.projection_dim)


@IMAGE_ENCODERS.register("siglip")
class SiglipImage(VisionLanguageImage):
    """SigLIP's image tower (e.g. ``google/siglip-base-patch16-224``: 768-d, attention-pooled)."""

    model_class = "SiglipModel"
    text_tower = ("text_model",)

    @property
    def dim(self) -> int:
        return int(self.model_config.vision_config.hidden_size)
