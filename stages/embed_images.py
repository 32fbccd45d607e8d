"""DVC stage embed_images: every clean image -> one L2-normalised vector (cached by content).

embed_image_table reads data/clean/images.parquet and writes data/features/images.npz itself:
only the images the vector cache lacks are embedded, here or on a Dask cluster.
"""
from imagesearch.embedding.images import embed_image_table
from imagesearch.params import ImageEncoderParams
from imagesearch.stage import run


def main(params: ImageEncoderParams) -> None:
    embed_image_table(params.model_dump())


if __name__ == "__main__":
    run("embed_images", main)
