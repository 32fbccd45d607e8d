"""DVC stage align_queries: the map for non-English queries (multilingual USE -> the text encoder's
space), fitted on the train captions; the Russian test queries' mapped vectors for evaluate."""
from imagesearch import paths
from imagesearch.atomic import write_json
from imagesearch.embedding.multilingual import align_queries
from imagesearch.params import AlignQueriesParams
from imagesearch.stage import run


def main(params: AlignQueriesParams) -> None:
    write_json(paths.ALIGNMENT_METRICS, align_queries(params.folds))


if __name__ == "__main__":
    run("align_queries", main)
