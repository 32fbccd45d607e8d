"""DVC stage embed_texts: captions and test queries -> vectors; the fitted encoder for search.

embed_text_table reads data/clean/captions.parquet and writes data/features/texts.npz and
data/features/text_encoder itself: a cluster's workers load the saved encoder from there.
"""
from imagesearch.embedding.texts import embed_text_table
from imagesearch.params import TextEncoderParams
from imagesearch.stage import run


def main(params: TextEncoderParams) -> None:
    embed_text_table(params.model_dump())


if __name__ == "__main__":
    run("embed_texts", main)
