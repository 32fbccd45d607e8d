"""The web API under fuzzing (issue #8): schemathesis generates requests from the app's own
OpenAPI schema and sends them through ASGI to the app on the tiny real index.

For every request: no 5xx, the response conforms to the schema, no blocked image id anywhere in
the body, and no file outside the catalog is ever opened. Hypothesis adds hostile image ids and
static paths (traversal, encodings, NUL) that the schema alone would not try.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imagesearch.serving.web.app as web


STATIC = Path(web.__file__).resolve().parent / "static"
FUZZ_EXAMPLES = 150  # per API operation
TALLY: Counter = Counter()  # requests sent and statuses seen, for the report below


class Recorder:
    """Every file the app serves goes through FileResponse; record the paths."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def wrap(self, cls):
        recorder = self

        class RecordingFileResponse(cls):
            def __init__(self, path, status_code: int = 200, *args, **kwargs):  # FastAPI reads this default
                recorder.paths.append(Path(path).resolve())
                super().__init__(path, status_code, *args, **kwargs)
        return RecordingFileResponse


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def app(searcher, recorder):
    patch = pytest.MonkeyPatch()
    patch.setattr(web, "FileResponse", recorder.wrap(web.FileResponse))
    application = web.create_app(searcher=searcher)
    with TestClient(application):  # runs the lifespan: the service stays on app.state
        yield application
    patch.undo()


@pytest.fixture(scope="module")
def client(app) -> Iterator[TestClient]:
    yield TestClient(app)


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def catalog_files(search_index) -> set[Path]:
    return {search_index.image_file(name).resolve() for name in search_index.allowed_images}


def assert_served_only_catalog(recorder: Recorder, catalog_files: set[Path]) -> None:
    outside = [p for p in recorder.paths if p not in catalog_files]
    assert not outside, f"files outside the catalog were opened: {outside[:5]}"


def assert_no_blocked_ids(body: str, search_index) -> None:
    for blocked in search_index.blocked_images:
        assert blocked not in body, f"blocked image {blocked} in a response"


OPERATIONS = [("/api/search", "GET"), ("/images/{image_id}", "GET"), ("/healthz", "GET")]


# negative mode (schema-violating input) only where the schema constrains something: q and k
RUNS = [(p, m, schemathesis.GenerationMode.POSITIVE) for p, m in OPERATIONS] + [
    ("/api/search", "GET", schemathesis.GenerationMode.NEGATIVE)]


@pytest.mark.slow  # schemathesis over every route
@pytest.mark.parametrize("path, method, mode", RUNS, ids=[f"{p}-{g.value}" for p, _, g in RUNS])
def test_api_conforms_and_never_fails(api_schema, path, method, mode, search_index, recorder, catalog_files):
    """Schemathesis cases from the OpenAPI schema (hypothesis drives them; schemathesis's own
    pytest plugin does not load under pytest 9, so the strategy is used directly)."""
    operation = api_schema[path][method]
    assert {p for p in api_schema} >= {p for p, _ in OPERATIONS}

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case):
        response = case.call()
        TALLY["requests"] += 1
        TALLY[f"{path} {mode.value} {response.status_code}"] += 1
        assert response.status_code < 500, response.text[:500]
        if mode is schemathesis.GenerationMode.POSITIVE:
            case.validate_response(response)  # status documented, body matches the schema
        elif path == "/api/search" and response.status_code == 200:  # invalid input got through:
            k = case.query.get("k", 12) if case.query else None
            while isinstance(k, list):  # a repeated parameter: the API reads the last ([[1.0]] is "k=1.0")
                k = k[-1] if k else 12  # no value sent: the default
            assert k is not None and float(k) == int(float(k)) and 1 <= float(k) <= 100  # valid after all
        if "image" not in response.headers.get("content-type", ""):
            assert_no_blocked_ids(response.text, search_index)
        assert_served_only_catalog(recorder, catalog_files)

    fuzz()


HOSTILE_IDS = st.one_of(
    st.sampled_from(["..", "../..", "../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd",
                     "/etc/passwd", "....//....//etc/passwd", "..\\..\\windows\\win.ini", "%00", "a%00.jpg",
                     "test_images.csv", "train_dataset.csv", "../train_images", "~", ".", "%2F", "//"]),
    st.text(alphabet=st.sampled_from("./\\%0a:~"), min_size=1, max_size=12),
    st.text(min_size=1, max_size=40),
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(image_id=HOSTILE_IDS)
def test_image_ids_never_reach_outside_the_catalog(client, recorder, catalog_files, search_index, image_id):
    quoted = quote(image_id, safe="/%\\:~.")  # traversal characters raw, control characters escaped
    for url in (f"/images/{quoted}", f"/static/{quoted}"):
        response = client.get(url)
        TALLY["requests"] += 1
        TALLY[f"hostile {url.split('/')[1]} {response.status_code}"] += 1
        assert response.status_code < 500
    assert_served_only_catalog(recorder, catalog_files | {p.resolve() for p in STATIC.rglob("*")})


def test_blocked_and_train_images_are_not_served(client, search_index):
    for name in search_index.blocked_images:
        assert client.get(f"/images/{name}").status_code == 404
    train = sorted((search_index.dataset / "train_images").iterdir())[0].name
    assert client.get(f"/images/{train}").status_code == 404
    assert client.get(f"/images/{search_index.allowed_images[0]}").status_code == 200


def test_zz_fuzzing_figures(tmp_path_factory):
    """Print (and keep) the size of the fuzzing run (docs/bad-input.md, "Web API fuzzing")."""
    if not TALLY["requests"]:
        pytest.skip("run with the fuzz tests to get figures")
    figures = dict(sorted(TALLY.items()))
    out = Path(tmp_path_factory.getbasetemp()) / "api_fuzz_figures.json"
    out.write_text(json.dumps(figures, indent=2))
    print("\nAPI fuzzing:", json.dumps(figures, indent=2))
    assert not any(key.endswith((" 500", " 501", " 502", " 503")) for key in figures)
