"""`imagesearch serve`: the search page, the JSON API and the catalog images.

- ``GET /``                  the search page (server-rendered, a plain GET form, no JavaScript), in
                             English or Russian (``?lang=``, its cookie, ``Accept-Language``: :mod:`.i18n`)
- ``GET /api/search?q&k``    JSON results or the disclaimer; bad ``q``/``k`` -> 422
- ``GET /images/{image_id}`` a catalog image by id; anything else -> 404
- ``GET /healthz``           liveness: answered on the event loop, never behind a search
- ``GET /readyz``            readiness: 200 only once the index is loaded and every model a query
                             can need (English and Russian encoders, the legal policy) has answered
                             a warm-up query; 503 while starting and from the first SIGTERM on

File paths come only from the index's catalog: a request names an id, and an id the catalog does
not hold (``../../etc/passwd`` included) resolves to nothing.

The Searcher is loaded once, in the background from startup on (the port answers /healthz at
once; searches get 503 "starting" until /readyz is green). Searches go through the admission gate
(:mod:`.admission`: bounded work in progress, a time budget, 503 + Retry-After for the excess) and
run on its threads in parallel: the ONNX query encoder and numpy (the model's trees included)
release the GIL. Each query then runs on one thread (the ONNX session's intra-op threads = 1;
`imagesearch serve` also holds BLAS and OpenMP to one thread), so that N requests use N cores instead of fighting over them.
Measured on 2 cores (`python -m benchmarks.bench_serving`, 200 requests): one at a time under a
lock with every library at its default threads, 50 / 70 / 44 requests/s at concurrency 1 / 4 / 20;
in parallel with one thread each, 69 / 115 / 105 (no lock but default threads: 8 at concurrency 20).
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi_offline import FastAPIOffline
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from imagesearch.serving.photos import missing_photos_line, photo_folder
from imagesearch.serving.searcher import DEFAULT_K, MAX_K, MAX_QUERY_CHARS, QueryError, SearchResult, Searcher
from imagesearch.serving.web import i18n
from imagesearch.serving.web.admission import Admission, ClientGone, Overloaded

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
#: A 422 quotes at most this much of a bad input (a 100 KB query is not echoed back).
ECHO_CHARS = 200
#: The page reflects at most this much of any parameter (in its title, box and language links).
PAGE_ECHO_CHARS = MAX_QUERY_CHARS
PAGE_PARAMS = ("q", "k")  # the only parameters the language links carry over (plus lang)
#: Warm-up queries: each path a query can take (English encoder, multilingual encoder + map, the
#: legal rule in both languages) runs once before /readyz turns green.
WARM_UP = ("two dogs play in the snow", "две собаки играют в снегу", "a little girl on a swing",
           "маленькая девочка на качелях")
# A query needs one character that str.split() does not treat as whitespace (the searcher's own
# test for "empty"): Unicode White_Space plus the ASCII separators \x1c-\x1f. In the OpenAPI
# schema too, so clients and API fuzzers know that "\r" or "\x1f" is not a query.
NOT_ONLY_WHITESPACE = r"[^\s\x1c-\x1f\x85]"  # \x85 (NEL) is \s to Python and pydantic, not to JSON Schema
IMAGE_CACHE_SECONDS = 3600
RETRY_STARTING_S = 5  # Retry-After while the index loads


class Hit(BaseModel):
    image: str = Field(description="catalog image id")
    score: float = Field(ge=0.0, le=1.0, description="relevance in [0, 1]")
    url: str = Field(description="where to fetch the image")


class SearchResponse(BaseModel):
    query: str = Field(description="the query as searched (whitespace collapsed)")
    disclaimer: str | None = Field(description="set when the query is blocked; results are then empty")
    disclaimer_localized: str | None = Field(
        None, description="the disclaimer in the language Accept-Language prefers (en or ru; else en)")
    notice: str | None = Field(
        None, description="set when the query is served with a notice: its language has no reviewed term "
                          "list (legal.uncovered_language: notice); names the languages that are checked")
    notice_localized: str | None = Field(
        None, description="the notice in the language Accept-Language prefers (en or ru; else en)")
    results: list[Hit]


class Health(BaseModel):
    status: str
    images: int | None = Field(None, description="catalog size, once the index is loaded")


class Readiness(BaseModel):
    status: str = Field(description="ready, starting, draining or failed")
    warmed: list[str] = Field(description="the query paths that answered a warm-up query")
    active: int = Field(description="searches running")
    waiting: int = Field(description="searches waiting for a slot")
    counts: dict[str, int] = Field(description="since start: admitted, shed (by reason), gone (client left while waiting)")


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
               batch: int = 0, batch_wait_ms: float = 2.0, max_active: int = 4, max_waiting: int = 32,
               budget_s: float = 1.0, images: str | Path | None = None) -> FastAPI:
    """The app for the index in ``index_dir`` (loaded in the background: /readyz says when), or
    around an already loaded ``searcher`` (tests; warmed before the first request);
    ``batch`` > 0 micro-batches concurrent queries (``imagesearch serve --batch``);
    ``max_active``, ``max_waiting`` and ``budget_s`` set the admission gate (:mod:`.admission`);
    ``images``: the folder holding the catalog's photos (:mod:`imagesearch.serving.photos`)."""
    if searcher is None and index_dir is None:
        raise ValueError("create_app needs an index folder or a Searcher")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = app.state
        state.service, state.warmed, state.failed = None, [], None
        state.draining = getattr(state, "draining", False)  # set by the server on SIGTERM
        state.admission = Admission(max_active, max_waiting, budget_s)
        if searcher is None and not (Path(index_dir) / "manifest.json").is_file():
            raise FileNotFoundError(f"{index_dir}: no search index here (no manifest.json); "
                                    "build it with `dvc repro index`")
        if images is not None:
            photo_folder(images)  # a missing folder fails the start, naming it
        loading = threading.Thread(target=_load_and_warm, name="load-index", daemon=True,
                                   args=(state, index_dir, searcher, batch, batch_wait_ms, images))
        loading.start()
        if searcher is not None:  # already loaded: only the warm-up, before the first request
            await asyncio.to_thread(loading.join)
        yield
        if state.service is not None and state.service.batcher is not None:
            state.service.batcher.close()
        state.admission.close()

    # /docs (Swagger UI) and /redoc from files in the fastapi-offline wheel: no CDN, so they work
    # with the network off.
    app = FastAPIOffline(title="imagesearch", lifespan=lifespan, favicon_url="/favicon.ico",
                         description="Text-to-image search over the photo catalog.")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")

    def service(request: Request) -> SearchService:
        """The loaded service; 503 "starting" before it is."""
        loaded = request.app.state.service
        if loaded is None:
            raise Overloaded("starting", RETRY_STARTING_S)
        return loaded

    async def admitted(request: Request, query: str, k: int) -> SearchResult:
        """The search, on a search thread once the admission gate lets it through."""
        ready = service(request)
        return await request.app.state.admission.run(lambda: ready.search(query, k),
                                                     lambda: _disconnected(request))

    @app.get("/api/search", response_model=SearchResponse, summary="Search the catalog",
             responses={503: {"description": "overloaded or starting: try again after `Retry-After` seconds"}})
    async def api_search(
        request: Request,
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, pattern=NOT_ONLY_WHITESPACE,
                                description="what the images should show")],
        k: Annotated[int, Query(ge=1, le=MAX_K, description="how many images")] = DEFAULT_K,
    ) -> SearchResponse:
        try:
            result = await admitted(request, q, k)
        except QueryError as err:  # e.g. a query of spaces only: same 422 shape as FastAPI's own
            raise RequestValidationError(
                [{"type": "value_error", "loc": ("query", "q"), "msg": str(err), "input": q}]) from None
        return _response(result, request)

    @app.get("/images/{image_id}", summary="A catalog image", response_class=FileResponse,
             responses={404: {"description": "no such catalog image"}})
    def image(request: Request, image_id: str) -> FileResponse:
        loaded = request.app.state.service
        if loaded is None:
            raise HTTPException(503, "starting", headers={"Retry-After": str(RETRY_STARTING_S)})
        path = loaded.searcher.image_path(image_id)
        if path is None:
            raise HTTPException(404, "no such catalog image")
        if not path.is_file():
            log.error("catalog image %s is listed but its file %s is missing", image_id, path)
            raise HTTPException(404, "no such catalog image")
        return FileResponse(path, headers={"Cache-Control": f"public, max-age={IMAGE_CACHE_SECONDS}"})

    @app.exception_handler(Overloaded)
    async def overloaded(request: Request, exc: Overloaded) -> JSONResponse:
        """503 at once, with when to come back."""
        return JSONResponse(status_code=503, content={"detail": f"the search is {_busy_word(exc)}; try again"},
                            headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(ClientGone)
    async def client_gone(request: Request, exc: ClientGone) -> Response:
        return Response(status_code=503)  # nobody reads it: the client hung up before its search ran

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's 422 shape, with long inputs cut to ECHO_CHARS characters."""
        return JSONResponse(status_code=422, content={"detail": [_short(e) for e in jsonable_encoder(exc.errors())]})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(HERE / "static" / "favicon.png", media_type="image/png",
                            headers={"Cache-Control": f"public, max-age={IMAGE_CACHE_SECONDS}"})

    @app.get("/healthz", response_model=Health, summary="Liveness")
    async def health(request: Request) -> Health:
        """Answered on the event loop: a busy search pool never delays it."""
        loaded = request.app.state.service
        return Health(status="ok", images=len(loaded.searcher) if loaded is not None else None)

    @app.get("/readyz", response_model=Readiness, summary="Readiness",
             responses={503: {"description": "starting, draining (SIGTERM received) or failed to load"}})
    async def ready(request: Request) -> JSONResponse:
        state = request.app.state
        status = ("draining" if state.draining else "failed" if state.failed else
                  "ready" if state.service is not None else "starting")
        body = Readiness(status=status, warmed=state.warmed, active=state.admission.active,
                         waiting=state.admission.waiting, counts=dict(state.admission.counts))
        return JSONResponse(body.model_dump(), status_code=200 if status == "ready" else 503)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request, q: str | None = None, k: str | None = None,
                   lang: str | None = None) -> HTMLResponse:
        explicit = i18n.supported(lang)
        language = i18n.choose_language(explicit, request.cookies.get(i18n.COOKIE),
                                        request.headers.get("accept-language"))
        retry_after = None
        try:
            context, status = await _page_context(request, q, k, language, admitted)
        except Overloaded as busy:  # the page as it is, with a sentence instead of results
            context, status = _base_context(request.app.state.service, q, language), 503
            context["message"] = i18n.texts(language)["busy" if busy.reason != "starting" else "starting"]
            retry_after = busy.retry_after
        context["explicit_lang"] = explicit  # kept in the form, so a search stays in it without cookies
        context["switch"] = [(code, i18n.LANGUAGE_NAMES[code], _with_lang(request, code))
                             for code in i18n.LANGUAGES]
        response = templates.TemplateResponse(request, "search.html", context, status_code=status)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
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


def _load_and_warm(state: Any, index_dir: str | Path | None, searcher: Searcher | None, batch: int,
                   batch_wait_ms: float, images: str | Path | None = None) -> None:
    """Load the index (unless given), run the warm-up queries, then set ``state.service``: from
    then on /readyz is green. A failure is logged and kept in ``state.failed`` (/readyz: "failed");
    a served process then stops itself (SIGTERM), since it would never become ready."""
    try:
        if searcher is None:
            log.info("loading the search index from %s", index_dir)
        loaded = searcher or Searcher.load(index_dir, threads=1, images=images)
        warmed = _warm_up(loaded)
        missing = missing_photos_line(loaded.photo_files)
        if missing:
            log.warning("%s", missing)
        state.warmed = warmed
        state.service = SearchService(loaded, batch, batch_wait_ms)
        log.info("ready: %d catalog images; warmed %s", len(loaded), ", ".join(warmed))
    except Exception as err:  # noqa: BLE001 - reported by /readyz and the log
        log.exception("could not load the search index")
        state.failed = f"{type(err).__name__}: {err}"
        if searcher is None:
            os.kill(os.getpid(), signal.SIGTERM)


def _warm_up(searcher: Searcher) -> list[str]:
    """Run :data:`WARM_UP` through the searcher; which paths they took (english, multilingual, legal).

    Every model loads lazily (the English encoder's ONNX session on the first English query, the
    multilingual encoder on the first other one): each is paid for here, before readiness, not by
    the first users."""
    paths: list[str] = []
    route = getattr(searcher.text_encoder, "path_of", lambda text: "english")
    for text in WARM_UP:
        path = "legal" if searcher.search(text, 1).disclaimer is not None else route(text)
        if path not in paths:
            paths.append(path)
    return paths


async def _disconnected(request: Request) -> None:
    """Returns once the client has hung up (for a GET, ``receive`` blocks until then)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _busy_word(exc: Overloaded) -> str:
    return "starting" if exc.reason == "starting" else "overloaded"


def _with_lang(request: Request, lang: str) -> str:
    """This page's path with its known parameters and ``lang``: the language switch's link. ``q``
    is cut to PAGE_ECHO_CHARS, ``k`` kept only when valid, anything else left out."""
    params = {name: request.query_params[name][:PAGE_ECHO_CHARS]
              for name in PAGE_PARAMS if name in request.query_params}
    if "k" in params and not (params["k"].isdigit() and 1 <= int(params["k"][:4]) <= MAX_K):
        del params["k"]
    return f"{request.url.path}?{urlencode({**params, 'lang': lang})}"


def _response(result: SearchResult, request: Request) -> SearchResponse:
    lang = i18n.negotiate(request.headers.get("accept-language"))
    localized = i18n.disclaimer(lang, result.disclaimer) if result.disclaimer is not None else None
    notice = i18n.disclaimer(lang, result.notice) if result.notice is not None else None
    return SearchResponse(
        query=result.query, disclaimer=result.disclaimer, disclaimer_localized=localized,
        notice=result.notice, notice_localized=notice,
        results=[Hit(image=h.image, score=round(h.score, 4),
                     url=str(request.url_for("image", image_id=h.image).path)) for h in result.hits])


def _base_context(service: SearchService | None, q: str | None, lang: str) -> dict:
    """The page's fields before any search; the query is cut to PAGE_ECHO_CHARS (a 100 KB ``q`` is
    not reflected back)."""
    return {"q": (q or "")[:PAGE_ECHO_CHARS], "k": DEFAULT_K, "max_k": MAX_K, "max_chars": MAX_QUERY_CHARS,
            "result": None, "disclaimer": None, "notice": None, "message": None,
            "catalog_size": len(service.searcher) if service is not None else 0, "lang": lang,
            "t": i18n.texts(lang)}


async def _page_context(request: Request, q: str | None, k: str | None, lang: str,
                        search: Callable[[Request, str, int], Any]) -> tuple[dict, int]:
    """What the page shows for the raw form fields in ``lang``, and the HTTP status; Overloaded
    when the search was not admitted.

    The page is for people: bad input gets a sentence on the page, in its language, not a JSON error.
    """
    context = _base_context(request.app.state.service, q, lang)
    texts = context["t"]
    if k not in (None, ""):
        try:
            valid = 1 <= int(k) <= MAX_K
        except ValueError:
            valid = False
        if not valid:  # the box keeps the default: a bad k is not reflected back
            context["message"] = texts["bad_k"].format(max_k=MAX_K)
            return context, 422
        context["k"] = int(k)
    if q is None:
        return context, 200
    context["at_limit"] = len(q) == MAX_QUERY_CHARS  # the input's maxlength cut it there
    if not q.strip():
        context["message"] = texts["empty"]
        return context, 200
    if len(" ".join(q.split())) > MAX_QUERY_CHARS:  # refused here, without taking a search slot
        context["message"] = texts["too_long"].format(max_chars=MAX_QUERY_CHARS)
        return context, 422
    try:
        result = context["result"] = await search(request, q, context["k"])
    except QueryError as err:
        message = texts["too_long" if err.reason == "too_long" else "query_error"]
        context["message"] = message.format(max_chars=MAX_QUERY_CHARS)
        return context, 422
    if result.disclaimer is not None:
        context["disclaimer"] = i18n.disclaimer(lang, result.disclaimer)
    if result.notice is not None:
        context["notice"] = i18n.disclaimer(lang, result.notice)
    return context, 200
