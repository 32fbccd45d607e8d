"""`imagesearch search|score|legal-check|serve`: the product from a terminal."""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from pathlib import Path

from imagesearch import paths
from imagesearch.serving.limits import DEFAULT_K
from imagesearch.serving.web.settings import ServeSettings

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
    search.add_argument("--images", type=Path, default=None, metavar="DIR",
                        help="the folder holding the catalog's photos (for an index fetched without its project)")

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
    serve.add_argument("--images", type=Path, default=None, metavar="DIR",
                       help="the folder holding the catalog's photos (for an index fetched without its project)")
    serve.add_argument("--batch", type=int, default=0, metavar="N",
                       help="micro-batch up to N concurrent queries per encoder/scoring call (0: off)")
    serve.add_argument("--batch-wait-ms", type=float, default=2.0,
                       help="how long a micro-batch waits for more queries (with --batch)")
    production = ServeSettings()
    serve.add_argument("--max-active", type=int, default=production.max_active, metavar="N",
                       help="searches running at once (default 0: one per core; with --batch, at least 2 x N)")
    serve.add_argument("--max-waiting", type=int, default=production.max_waiting, metavar="N",
                       help="searches waiting for a slot; more get 503 at once (default: one per active search)")
    serve.add_argument("--time-budget", type=float, default=production.budget_s, metavar="S",
                       help="a search that would not be answered within S seconds gets 503 + Retry-After "
                            f"at once (default {production.budget_s})")
    serve.add_argument("--max-connections", type=int, default=production.max_connections, metavar="N",
                       help=f"open connections beyond which uvicorn answers 503 (default {production.max_connections})")
    serve.add_argument("--keep-alive", type=int, default=production.keep_alive_s, metavar="S",
                       help=f"idle keep-alive connections close after S seconds (default {production.keep_alive_s})")
    serve.add_argument("--header-timeout", type=float, default=production.header_timeout_s, metavar="S",
                       help="a connection that sends no complete request head within S seconds closes "
                            f"(default {production.header_timeout_s:g})")
    serve.add_argument("--graceful-timeout", type=int, default=production.graceful_s, metavar="S",
                       help="on SIGTERM, requests in flight get S seconds to finish, then the process exits "
                            f"(default {production.graceful_s})")

    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    return {"search": _search, "score": _score, "legal-check": _legal_check, "serve": _serve}[args.command](args)


def _search(args: argparse.Namespace) -> int:
    from imagesearch.serving.photos import missing_photos_line
    from imagesearch.serving.searcher import QueryError, Searcher

    try:
        searcher = Searcher.load(args.index, images=args.images)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    missing = missing_photos_line(searcher.photo_files)
    if missing:
        print(f"warning: {missing}", file=sys.stderr)
    try:
        result = searcher.search(args.query, args.k)
    except QueryError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if result.notice:  # served, beside the results; stdout keeps one line per hit
        print(f"notice: {result.notice}", file=sys.stderr)
    if args.json:
        found = {h.image: path for h in result.hits if (path := searcher.image_path(h.image)) and path.is_file()}
        print(json.dumps(result.to_dict(found), indent=2, ensure_ascii=False))
    elif result.disclaimer:
        print(result.disclaimer)
    else:
        for rank, hit in enumerate(result.hits, start=1):
            print(f"{rank:>3}  {hit.score:.4f}  {searcher.image_path(hit.image)}")
    return 0


def _score(args: argparse.Namespace) -> int:
    from imagesearch.serving.scoring import (ImageScorer, IndexLoadError, PipelineInstallError, ScoreInputError,
                                             open_image)

    try:
        open_image(args.image)  # a bad file fails in a second, before the models load
        result = ImageScorer.load(args.index).score(args.image, args.text)
    except (ScoreInputError, IndexLoadError, PipelineInstallError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if result.notice:
        print(f"notice: {result.notice}", file=sys.stderr)
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
    from threadpoolctl import threadpool_limits

    from imagesearch.serving.photos import PhotoFolderError, photo_folder
    from imagesearch.serving.web.app import create_app
    from imagesearch.serving.web.server import serve

    settings = ServeSettings(host=args.host, port=args.port, max_active=args.max_active,
                             max_waiting=args.max_waiting, budget_s=args.time_budget,
                             max_connections=args.max_connections, keep_alive_s=args.keep_alive,
                             header_timeout_s=args.header_timeout, graceful_s=args.graceful_timeout)
    # a micro-batch needs that many searches waiting
    settings = dataclasses.replace(settings, max_active=max(settings.active, 2 * args.batch))
    threadpool_limits(1)  # one BLAS/OpenMP thread per query: concurrent queries use the cores
    if args.images is not None:
        try:
            photo_folder(args.images)
        except PhotoFolderError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    app = create_app(args.index, batch=args.batch, batch_wait_ms=args.batch_wait_ms, max_active=settings.active,
                     max_waiting=settings.waiting, budget_s=settings.budget_s, images=args.images)
    serve(app, settings)
    return 1 if getattr(app.state, "failed", None) else 0


if __name__ == "__main__":
    sys.exit(main())
