"""`imagesearch search|score|legal-check|serve`: the product from a terminal."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from imagesearch import paths
from imagesearch.serving.limits import DEFAULT_K

log = logging.getLogger("imagesearch")


def build_parser() -> argparse.ArgumentParser:
    """The command line: search, score, legal-check, serve."""
    parser = argparse.ArgumentParser(prog="imagesearch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    search = commands.add_parser("search", help="rank the catalog images for a text query")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=DEFAULT_K, help=f"how many images (default {DEFAULT_K})")
    search.add_argument("--json", action="store_true", help="print JSON for machines")
    search.add_argument("--index", type=Path, default=paths.INDEX)

    score = commands.add_parser("score", help="score how well a text describes an image file, in [0, 1]")
    score.add_argument("--image", type=Path, required=True)
    score.add_argument("--text", required=True)
    score.add_argument("--index", type=Path, default=paths.INDEX)

    legal = commands.add_parser("legal-check", help="print blocked/allowed for each input line")
    legal.add_argument("file", nargs="?", default="-", help="a text file, or - for standard input")
    legal.add_argument("--index", type=Path, default=paths.INDEX,
                       help="index whose cross-lingual second line applies too (the term list alone if absent)")

    serve = commands.add_parser("serve", help="serve the search page and JSON API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--index", type=Path, default=paths.INDEX)
    serve.add_argument("--batch", type=int, default=0, metavar="N",
                       help="micro-batch up to N concurrent queries per encoder/scoring call (0: off)")
    serve.add_argument("--batch-wait-ms", type=float, default=2.0,
                       help="how long a micro-batch waits for more queries (with --batch)")

    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    return {"search": _search, "score": _score, "legal-check": _legal_check, "serve": _serve}[args.command](args)


def _search(args: argparse.Namespace) -> int:
    from imagesearch.serving.searcher import QueryError, Searcher

    try:
        searcher = Searcher.load(args.index)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        result = searcher.search(args.query, args.k)
    except QueryError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict({h.image: searcher.image_path(h.image) for h in result.hits}), indent=2, ensure_ascii=False))
    elif result.disclaimer:
        print(result.disclaimer)
    else:
        for rank, hit in enumerate(result.hits, start=1):
            print(f"{rank:>3}  {hit.score:.4f}  {searcher.image_path(hit.image)}")
    return 0


def _score(args: argparse.Namespace) -> int:
    from imagesearch.serving.scoring import ImageScorer, IndexLoadError, ScoreInputError, open_image

    try:
        open_image(args.image)  # a bad file fails in a second, before the models load
        result = ImageScorer.load(args.index).score(args.image, args.text)
    except (ScoreInputError, IndexLoadError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(result.disclaimer if result.disclaimer else f"{result.score:.4f}")
    return 0


def _legal_check(args: argparse.Namespace) -> int:
    from imagesearch.legal.policy import LegalPolicy, legal_check_lines

    handle = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
    with handle:
        for line in legal_check_lines((text.rstrip("\n") for text in handle), LegalPolicy.load(args.index)):
            print(line)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn
    from threadpoolctl import threadpool_limits

    from imagesearch.serving.web.app import create_app

    threadpool_limits(1)  # one BLAS/OpenMP thread per query: concurrent queries use the cores
    uvicorn.run(create_app(args.index, batch=args.batch, batch_wait_ms=args.batch_wait_ms),
                host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
