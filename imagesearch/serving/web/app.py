"""`imagesearch serve`: the search page, the JSON API and the catalog images.

- ``GET /``                  the search page (server-rendered, a plain GET form, no JavaScript), in
                             English or Russian (``?lang=``, its cookie, ``Accept-Language``: :mod:`.i18n`)
- ``GET /api/search?q&k``    JSON results or the disclaimer; bad ``q``/``k`` -> 422
- ``GET /images/{image_id}`` a catalog image by id; anything else -> 404
- ``GET /healthz``           liveness and catalog size

File paths come only from the index's catalog: a request names an id, and an id the catalog does
not hold (``../../etc/passwd`` included) resolves to nothing.

The Searcher is loaded once, at startup (lifespan). Concurrent requests run in parallel on
FastAPI's thread pool: the ONNX query encoder, numpy and XGBoost release the GIL. Each query then
runs on one thread (the ONNX session's intra-op threads = 1; `imagesearch serve` also holds BLAS
and OpenMP to one thread), so that N requests use N cores instead of fighting over them.
Measured on 2 cores (`python -m benchmarks.bench_serving`, 200 requests): one at a time under a
lock with every library at its default threads, 50 / 70 / 44 requests/s at concurrency 1 / 4 / 20;
in parallel with one thread each, 69 / 115 / 105 (no lock but default threads: 8 at concurrency 20).
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi_offline import FastAPIOffline
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from imagesearch.serving.searcher import DEFAULT_K, MAX_K, MAX_QUERY_CHARS, QueryError, SearchResult, Searcher
from imagesearch.serving.web import i18n

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
#: A 422 quotes at most this much of a bad input (a 100 KB query is not echoed back).
ECHO_CHARS = 200
# A query needs one character that str.split() does not treat as whitespace (the searcher's own
# test for "empty"): Unicode White_Space plus the ASCII separators \x1c-\x1f. In the OpenAPI
# schema too, so clients and API fuzzers know that "\r" or "\x1f" is not a query.
NOT_ONLY_WHITESPACE = r"[^\s\x1c-\x1f\x85]"  # \x85 (NEL) is \s to Python and pydantic, not to JSON Schema
IMAGE_CACHE_SECONDS = 3600


class Hit(BaseModel):
    image: str = Field(description="catalog image id")
    score: float = Field(ge=0.0, le=1.0, description="relevance in [0, 1]")
    url: str = Field(description="where to fetch the image")


class SearchResponse(BaseModel):
    query: str = Field(description="the query as searched (whitespace collapsed)")
    disclaimer: str | None = Field(description="set when the query is blocked; results are then empty")
    disclaimer_localized: str | None = Field(
        None, description="the disclaimer in the language Accept-Language prefers (en or ru; else en)")
    results: list[Hit]


class Health(BaseModel):
    status: str
    images: int


class SearchService:
    """The loaded Searcher; queries run concurrently (everything it calls is thread-safe), or,
    with ``batch`` > 0, through a :class:`~imagesearch.serving.batching.MicroBatcher`."""

    def __init__(self, searcher: Searcher, batch: int = 0, batch_wait_ms: float = 2.0) -> None:
        self.searcher = searcher
        self.batcher = None
        if batch > 0:
            from imagesearch.serving.batching import MicroBatcher

            self.batcher = MicroBatcher(searcher, batch, batch_wait_ms)

    def search(self, query: str, k: int) -> SearchResult:
        return (self.batcher or self.searcher).search(query, k)


def create_app(index_dir: str | Path | None = None, searcher: Searcher | None = None,
               batch: int = 0, batch_wait_ms: float = 2.0) -> FastAPI:
    """The app for the index in ``index_dir``, or around an already loaded ``searcher`` (tests);
    ``batch`` > 0 micro-batches concurrent queries (``imagesearch serve --batch``)."""
    if searcher is None and index_dir is None:
        raise ValueError("create_app needs an index folder or a Searcher")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loaded = searcher
        if loaded is None:
            log.info("loading the search index from %s", index_dir)
            loaded = Searcher.load(index_dir, threads=1)
        loaded.search("warm up", 1)  # the text encoder loads lazily: pay for it before serving
        missing = [path for path in loaded.catalog["path"] if not Path(path).is_file()]
        if missing:  # relative catalog paths resolve against the project above the index (or the cwd)
            log.warning("%d catalog image files are missing (cwd %s), e.g. %s",
                        len(missing), Path.cwd(), missing[0])
        app.state.service = SearchService(loaded, batch, batch_wait_ms)
        log.info("serving %d catalog images", len(loaded))
        yield
        if app.state.service.batcher is not None:
            app.state.service.batcher.close()

    # /docs (Swagger UI) and /redoc from files in the fastapi-offline wheel: no CDN, so they work
    # with the network off.
    app = FastAPIOffline(title="imagesearch", lifespan=lifespan, favicon_url="/favicon.ico",
                         description="Text-to-image search over the photo catalog.")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")

    def service(request: Request) -> SearchService:
        return request.app.state.service

    @app.get("/api/search", response_model=SearchResponse, summary="Search the catalog")
    def api_search(
        request: Request,
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, pattern=NOT_ONLY_WHITESPACE,
                                description="what the images should show")],
        k: Annotated[int, Query(ge=1, le=MAX_K, description="how many images")] = DEFAULT_K,
    ) -> SearchResponse:
        try:
            result = service(request).search(q, k)
        except QueryError as err:  # e.g. a query of spaces only: same 422 shape as FastAPI's own
            raise RequestValidationError(
                [{"type": "value_error", "loc": ("query", "q"), "msg": str(err), "input": q}]) from None
        return _response(result, request)

    @app.get("/images/{image_id}", summary="A catalog image", response_class=FileResponse,
             responses={404: {"description": "no such catalog image"}})
    def image(request: Request, image_id: str) -> FileResponse:
        path = service(request).searcher.image_path(image_id)
        if path is None:
            raise HTTPException(404, "no such catalog image")
        if not path.is_file():
            log.error("catalog image %s is listed but its file %s is missing", image_id, path)
            raise HTTPException(404, "no such catalog image")
        return FileResponse(path, headers={"Cache-Control": f"public, max-age={IMAGE_CACHE_SECONDS}"})

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's 422 shape, with long inputs cut to ECHO_CHARS characters."""
        return JSONResponse(status_code=422, content={"detail": [_short(e) for e in jsonable_encoder(exc.errors())]})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(HERE / "static" / "favicon.png", media_type="image/png",
                            headers={"Cache-Control": f"public, max-age={IMAGE_CACHE_SECONDS}"})

    @app.get("/healthz", response_model=Health, summary="Liveness")
    def health(request: Request) -> Health:
        return Health(status="ok", images=len(service(request).searcher))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request, q: str | None = None, k: str | None = None,
             lang: str | None = None) -> HTMLResponse:
        explicit = i18n.supported(lang)
        language = i18n.choose_language(explicit, request.cookies.get(i18n.COOKIE),
                                        request.headers.get("accept-language"))
        context, status = _page_context(service(request), q, k, language)
        context["explicit_lang"] = explicit  # kept in the form, so a search stays in it without cookies
        context["switch"] = [(code, i18n.LANGUAGE_NAMES[code], _with_lang(request, code))
                             for code in i18n.LANGUAGES]
        response = templates.TemplateResponse(request, "search.html", context, status_code=status)
        response.headers["Content-Language"] = language
        response.headers["Vary"] = "Accept-Language, Cookie"
        if explicit:
            response.set_cookie(i18n.COOKIE, explicit, max_age=i18n.COOKIE_MAX_AGE, samesite="lax")
        return response

    return app


def _short(error: dict) -> dict:
    value = error.get("input")
    if isinstance(value, str) and len(value) > ECHO_CHARS:
        error = {**error, "input": f"{value[:ECHO_CHARS]}... ({len(value)} characters)"}
    return error


def _with_lang(request: Request, lang: str) -> str:
    """This page's own path and query with ``lang`` set: the language switch's link."""
    url = request.url.include_query_params(lang=lang)
    return f"{url.path}?{url.query}"


def _response(result: SearchResult, request: Request) -> SearchResponse:
    localized = None
    if result.disclaimer is not None:
        localized = i18n.disclaimer(i18n.negotiate(request.headers.get("accept-language")), result.disclaimer)
    return SearchResponse(
        query=result.query, disclaimer=result.disclaimer, disclaimer_localized=localized,
        results=[Hit(image=h.image, score=round(h.score, 4),
                     url=str(request.url_for("image", image_id=h.image).path)) for h in result.hits])


def _page_context(service: SearchService, q: str | None, k: str | None, lang: str) -> tuple[dict, int]:
    """What the page shows for the raw form fields in ``lang``, and the HTTP status.

    The page is for people: bad input gets a sentence on the page, in its language, not a JSON error.
    """
    texts = i18n.texts(lang)
    context: dict = {"q": q or "", "k": DEFAULT_K, "max_k": MAX_K, "max_chars": MAX_QUERY_CHARS,
                     "result": None, "disclaimer": None, "message": None,
                     "catalog_size": len(service.searcher), "lang": lang, "t": texts}
    if k not in (None, ""):
        try:
            context["k"] = int(k)
            valid = 1 <= context["k"] <= MAX_K
        except ValueError:
            valid = False
        if not valid:
            context["message"] = texts["bad_k"].format(max_k=MAX_K)
            return context, 422
    if q is None:
        return context, 200
    context["at_limit"] = len(q) == MAX_QUERY_CHARS  # the input's maxlength cut it there
    if not q.strip():
        context["message"] = texts["empty"]
        return context, 200
    try:
        result = context["result"] = service.search(q, context["k"])
    except QueryError as err:
        message = texts["too_long" if err.reason == "too_long" else "query_error"]
        context["message"] = message.format(max_chars=MAX_QUERY_CHARS)
        return context, 422
    if result.disclaimer is not None:
        context["disclaimer"] = i18n.disclaimer(lang, result.disclaimer)
    return context, 200
