"""The web app and JSON API on the tiny real index, through FastAPI's TestClient."""
from __future__ import annotations

import html
from collections.abc import Iterator
from string import Formatter
from urllib.parse import quote, unquote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from fastapi.testclient import TestClient

from imagesearch.legal.rules import DISCLAIMER, DISCLAIMER_RU
from imagesearch.serving.limits import DEFAULT_K, MAX_K, MAX_QUERY_CHARS
from imagesearch.serving.web import i18n
from imagesearch.serving.web.app import SearchResponse, create_app


@pytest.fixture(scope="module")
def shared_client(searcher) -> Iterator[TestClient]:
    with TestClient(create_app(searcher=searcher)) as test_client:
        yield test_client


@pytest.fixture
def client(shared_client) -> TestClient:
    """The app, without the language cookie an earlier test's ``?lang=`` left in the client."""
    shared_client.cookies.clear()
    return shared_client


# ------------------------------------------------------------------ JSON API
def test_search_returns_ranked_catalog_images(client, search_index):
    response = client.get("/api/search", params={"q": "a red circle", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "a red circle"
    assert body["disclaimer"] is None
    assert len(body["results"]) == 3
    scores = [hit["score"] for hit in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    for hit in body["results"]:
        assert hit["image"] in search_index.allowed_images
        assert hit["url"] == f"/images/{hit['image']}"


def test_k_larger_than_the_catalog_returns_the_whole_catalog(client, search_index):
    body = client.get("/api/search", params={"q": "a shape", "k": MAX_K}).json()
    assert sorted(h["image"] for h in body["results"]) == sorted(search_index.allowed_images)


def test_blocked_images_never_appear(client, search_index):
    assert search_index.blocked_images, "the tiny dataset should block at least one test image"
    body = client.get("/api/search", params={"q": "a shape next to something", "k": MAX_K}).json()
    assert not set(search_index.blocked_images) & {h["image"] for h in body["results"]}


@pytest.mark.parametrize("query", ["a little girl playing", "Two KIDS in a park", "a 5-year-old on a bike"])
def test_blocked_query_gets_the_disclaimer_and_no_results(client, query):
    response = client.get("/api/search", params={"q": query})
    assert response.status_code == 200
    body = response.json()
    assert body["disclaimer"] == DISCLAIMER
    assert body["results"] == []


@pytest.mark.parametrize("params, field", [
    ({"q": "x" * (MAX_QUERY_CHARS + 1)}, "q"),
    ({"q": ""}, "q"),
    ({"q": "   "}, "q"),
    ({}, "q"),
    ({"q": "dogs", "k": 0}, "k"),
    ({"q": "dogs", "k": MAX_K + 1}, "k"),
    ({"q": "dogs", "k": "ten"}, "k"),
    ({"q": "dogs", "k": "2.5"}, "k"),
])
def test_bad_parameters_are_422_naming_the_field(client, params, field):
    response = client.get("/api/search", params=params)
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert any(err["loc"][-1] == field and err["msg"] for err in errors), errors


def test_whitespace_only_queries_are_422_by_the_schema(client):
    """Every character str.split() treats as whitespace (the searcher's test for an empty query)
    fails the schema's pattern too, so the API's schema and its answers agree (schemathesis once
    generated q="\r", valid by the old schema, rejected by the searcher)."""
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    for text in spaces + ["".join(spaces)]:
        response = client.get("/api/search", params={"q": text})
        assert response.status_code == 422, repr(text)
    assert client.get("/api/search", params={"q": "\r dogs \x1f"}).status_code == 200


def test_query_at_the_length_limit_is_accepted(client):
    assert client.get("/api/search", params={"q": "a" * MAX_QUERY_CHARS}).status_code == 200


def test_openapi_documents_the_typed_parameters(client):
    spec = client.get("/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert params["q"]["schema"]["maxLength"] == MAX_QUERY_CHARS
    assert params["k"]["schema"]["maximum"] == MAX_K and params["k"]["schema"]["minimum"] == 1
    assert client.get("/docs").status_code == 200


# ------------------------------------------------------------------ images
def test_catalog_image_is_served(client, search_index):
    image = search_index.allowed_images[0]
    response = client.get(f"/images/{image}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.content == search_index.image_file(image).read_bytes()


@pytest.mark.parametrize("path", [
    "/images/not-in-catalog.jpg",
    "/images/..%2F..%2Fetc%2Fpasswd",
    "/images/%2Fetc%2Fpasswd",
    "/images/....%2F....%2Fetc%2Fpasswd",
])
def test_ids_outside_the_catalog_are_404(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("raw_path", [b"/images/../../etc/passwd", b"/images/%2E%2E",
                                      b"/images/..%5C..%5Cetc%5Cpasswd"])
def test_path_traversal_sent_raw_is_404(client, raw_path):
    # httpx normalises some of these; tests/test_browser.py sends them byte-exact to a live server
    request = client.build_request("GET", "http://testserver/images/x")
    request.url = request.url.copy_with(raw_path=raw_path)
    assert client.send(request).status_code == 404


def test_blocked_catalog_image_is_404(client, search_index):
    for image in search_index.blocked_images:
        assert search_index.image_file(image).is_file()  # the file exists, the index refuses it
        assert client.get(f"/images/{image}").status_code == 404


def test_health(client, search_index):
    assert client.get("/healthz").json() == {"status": "ok", "images": len(search_index.allowed_images)}


# ------------------------------------------------------------------ the page
def test_page_without_query_shows_the_form(client):
    response = client.get("/")
    assert response.status_code == 200
    assert 'name="q"' in response.text and "<img" not in response.text


def test_page_shows_a_grid_of_results(client):
    response = client.get("/", params={"q": "a blue square", "k": 4})
    assert response.status_code == 200
    assert response.text.count('<li class="card">') == 4
    assert response.text.count("/images/") >= 4


def test_page_blocked_query_shows_the_disclaimer_card(client):
    response = client.get("/", params={"q": "a little girl playing"})
    assert response.status_code == 200
    assert 'id="disclaimer"' in response.text and DISCLAIMER in response.text
    assert "<img" not in response.text


def test_page_empty_query_gets_a_friendly_message(client):
    response = client.get("/", params={"q": "  "})
    assert response.status_code == 200
    assert 'id="message"' in response.text and "Type a few words" in response.text


@pytest.mark.parametrize("params", [{"q": "x" * (MAX_QUERY_CHARS + 5)}, {"q": "dogs", "k": "0"},
                                    {"q": "dogs", "k": "many"}])
def test_page_bad_input_is_explained_on_the_page(client, params):
    response = client.get("/", params=params)
    assert response.status_code == 422
    assert 'id="message"' in response.text


def test_page_escapes_the_query(client):
    response = client.get("/", params={"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


# ------------------------------------------------------------------ the page in English and Russian
@pytest.mark.parametrize("header, lang", [
    ("ru-RU,ru;q=0.9,en;q=0.8", "ru"),
    ("ru", "ru"),
    ("RU-ru", "ru"),
    ("en-US,en;q=0.9,ru;q=0.8", "en"),
    ("de-DE,de;q=0.9,ru;q=0.7,en;q=0.5", "ru"),   # the first supported one by q
    ("en;q=0.5, ru;q=0.6", "ru"),                  # q decides, not the order
    ("fr;q=0.9, ru;q=0.7, en;q=0.7", "ru"),        # a tie keeps the header's order
    ("ru;q=0, en", "en"),                          # q=0: "not this one"
    ("ru;q=0", "en"),
    ("de-DE,fr;q=0.9,uk;q=0.8", "en"),             # nothing supported
    ("*", "en"),
    ("*;q=0.5, ru;q=0.4", "en"),
    ("ru;q=1.5, en;q=0.2", "en"),                  # a malformed q skips the item
    ("ru;q=nan, en;q=0.2", "en"),
    ("ru;q=abc", "en"),
    (" ru-RU ; q=0.8 , en ; q=0.3 ", "ru"),
    ("", "en"),
    (",,;;,=", "en"),
    ("zh-Hant-TW, ru-Latn;q=0.1", "ru"),
])
def test_accept_language_picks_the_page_language(client, header, lang):
    assert i18n.negotiate(header) == lang
    response = client.get("/", headers={"Accept-Language": header})
    assert response.status_code == 200
    assert f'<html lang="{lang}">' in response.text
    assert f"<title>{i18n.TEXTS[lang]['title']}</title>" in response.text
    assert response.headers["content-language"] == lang
    assert "Accept-Language" in response.headers["vary"]


def test_no_accept_language_is_english(client):
    response = client.get("/")
    assert '<html lang="en">' in response.text and "Image search" in response.text
    assert "lang=" not in response.headers.get("set-cookie", "")


def format_fields(text: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(text) if field}


def test_every_interface_text_exists_in_both_languages():
    assert set(i18n.TEXTS) == set(i18n.LANGUAGES) == set(i18n.LANGUAGE_NAMES)
    keys = set(i18n.TEXTS["en"])
    for lang, texts in i18n.TEXTS.items():
        assert set(texts) == keys, lang
        assert all(text.strip() for text in texts.values()), lang
    for key, text in i18n.TEXTS["ru"].items():  # the same {fields}, so .format() fills both
        assert format_fields(text) == format_fields(i18n.TEXTS["en"][key]), key


def test_russian_page_shows_every_text_in_russian(client):
    ru = i18n.TEXTS["ru"]
    text = client.get("/", headers={"Accept-Language": "ru"}).text
    for key in ("title", "describe", "placeholder", "count_label", "button", "languages", "api"):
        assert ru[key] in text, key
    assert ru["hint"].format(n=len(client.app.state.service.searcher)) in text
    assert "Image search" not in text and "Search</button>" not in text
    results = client.get("/", params={"q": "a blue square", "k": 2}, headers={"Accept-Language": "ru"}).text
    assert ru["summary"].format(n=2) in results and ru["score_title"] in results


def test_the_page_offers_a_switch_to_each_language(client):
    text = client.get("/", params={"q": "a red circle", "k": 3}, headers={"Accept-Language": "ru"}).text
    assert 'id="languages"' in text
    assert 'href="/?q=a+red+circle&amp;k=3&amp;lang=en"' in text and ">English</a>" in text
    assert 'href="/?q=a+red+circle&amp;k=3&amp;lang=ru"' in text and ">Русский</a>" in text


def test_explicit_lang_wins_over_the_header_and_is_remembered(searcher):
    with TestClient(create_app(searcher=searcher)) as fresh:  # its own cookie jar
        response = fresh.get("/", params={"lang": "ru"}, headers={"Accept-Language": "en-US,en"})
        assert '<html lang="ru">' in response.text
        assert "lang=ru" in response.headers["set-cookie"]
        assert 'name="lang" value="ru"' in response.text  # a search from this page stays Russian
        later = fresh.get("/", headers={"Accept-Language": "en-US,en"})  # the cookie, no ?lang
        assert '<html lang="ru">' in later.text
        back = fresh.get("/", params={"lang": "en"}, headers={"Accept-Language": "ru"})
        assert '<html lang="en">' in back.text and "lang=en" in back.headers["set-cookie"]
        assert '<html lang="en">' in fresh.get("/", headers={"Accept-Language": "ru"}).text


@pytest.mark.parametrize("lang", ["de", "", "../etc", "ru-RU"])
def test_an_unsupported_lang_parameter_is_ignored(client, lang):
    response = client.get("/", params={"lang": lang}, headers={"Accept-Language": "ru"})
    assert response.status_code == 200 and '<html lang="ru">' in response.text
    assert "set-cookie" not in response.headers


def test_a_cookie_wins_over_the_header(client):
    response = client.get("/", headers={"Accept-Language": "ru", "Cookie": "lang=en"})
    assert '<html lang="en">' in response.text
    response = client.get("/", headers={"Accept-Language": "en", "Cookie": "lang=xx"})  # a bad cookie: the header
    assert '<html lang="en">' in response.text


@pytest.mark.parametrize("query", ["Девочки танцуют на сцене", "a boy"])
def test_blocked_query_gets_the_disclaimer_in_the_page_language(client, query):
    ru = client.get("/", params={"q": query}, headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert ru.status_code == 200 and 'id="disclaimer"' in ru.text
    assert DISCLAIMER_RU in ru.text and DISCLAIMER not in ru.text
    assert i18n.TEXTS["ru"]["not_available"] in ru.text and "<img" not in ru.text
    en = client.get("/", params={"q": query, "lang": "en"}, headers={"Accept-Language": "ru"})
    assert DISCLAIMER in en.text and DISCLAIMER_RU not in en.text and "<img" not in en.text
    assert DISCLAIMER_RU == "Это изображение недоступно в вашей стране в соответствии с местным законодательством"


@pytest.mark.parametrize("params, key", [({"q": "  "}, "empty"), ({"q": "dogs", "k": "0"}, "bad_k"),
                                         ({"q": "dogs", "k": "many"}, "bad_k"),
                                         ({"q": "x" * (MAX_QUERY_CHARS + 5)}, "too_long")])
@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_page_messages_are_in_the_page_language(client, params, key, lang):
    response = client.get("/", params={**params, "lang": lang})
    expected = i18n.TEXTS[lang][key].format(max_k=MAX_K, max_chars=MAX_QUERY_CHARS)
    assert f'<p class="message" id="message">{expected}</p>' in response.text


@pytest.mark.parametrize("header, localized", [("ru-RU,ru;q=0.9,en;q=0.8", DISCLAIMER_RU), ("en", DISCLAIMER),
                                               ("de", DISCLAIMER), (None, DISCLAIMER)])
def test_api_keeps_the_english_disclaimer_and_adds_the_localized_one(client, header, localized):
    headers = {"Accept-Language": header} if header else {}
    body = client.get("/api/search", params={"q": "Девочки танцуют на сцене"}, headers=headers).json()
    assert body["disclaimer"] == DISCLAIMER and body["results"] == []
    assert body["disclaimer_localized"] == localized
    allowed = client.get("/api/search", params={"q": "a red circle", "k": 1}, headers=headers).json()
    assert set(allowed) == {"query", "disclaimer", "disclaimer_localized", "notice", "notice_localized", "results"}
    assert allowed["disclaimer"] is None and allowed["disclaimer_localized"] is None and allowed["notice"] is None


# ------------------------------------------------------------------ property-based: any input, no 500
# (schemathesis 4.32's pytest loader fails under pytest 9 — "'Function' object has no attribute
# '_nodeid'" — so the contract is checked with hypothesis directly.)
@given(q=st.text(max_size=MAX_QUERY_CHARS + 20), k=st.integers(-3, MAX_K + 3))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_any_query_is_200_or_422_and_keeps_the_schema(client, q, k):
    response = client.get("/api/search", params={"q": q, "k": k})
    if response.status_code == 200:
        body = SearchResponse.model_validate(response.json())
        assert (body.disclaimer is None) or not body.results
        assert len(body.results) <= k
    else:
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["msg"]


@given(image_id=st.text(min_size=1, max_size=60))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_image_id_outside_the_catalog_is_404(client, search_index, image_id):
    if image_id in (".", ".."):
        return  # httpx folds "/images/.." into "/"; test_browser.py sends these byte-exact
    response = client.get("/images/" + quote(image_id, safe=""))
    assert response.status_code == (200 if image_id in search_index.allowed_images else 404)


# ------------------------------------------------------------------ docs, favicon, limits
def test_docs_and_redoc_are_served_from_local_files(client):
    for path, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = client.get(path).text
        assert f"/static-offline-docs/{asset}" in html and "cdn.jsdelivr" not in html
        script = client.get(f"/static-offline-docs/{asset}")
        assert script.status_code == 200 and len(script.content) > 500_000


def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    assert 'rel="icon"' in client.get("/").text


def test_an_over_long_query_is_not_echoed_back(client):
    response = client.get("/api/search", params={"q": "dog " * 1_250})  # 5,000 characters
    assert response.status_code == 422
    assert len(response.content) < 2_000
    assert "(5000 characters)" in response.json()["detail"][0]["input"]


def test_the_page_says_when_the_query_hit_the_length_limit(client):
    page = client.get("/", params={"q": "a" * MAX_QUERY_CHARS})
    assert 'id="at-limit"' in page.text and str(MAX_QUERY_CHARS) in page.text
    assert 'id="at-limit"' not in client.get("/", params={"q": "a red circle"}).text


def test_k_defaults_the_same_in_cli_api_and_page(client):
    from imagesearch.serving.cli import build_parser

    schema = client.get("/openapi.json").json()
    k = next(p for p in schema["paths"]["/api/search"]["get"]["parameters"] if p["name"] == "k")
    assert k["schema"]["default"] == build_parser().parse_args(["search", "dogs"]).k == DEFAULT_K
    assert f'value="{DEFAULT_K}"' in client.get("/").text


def test_concurrent_queries_give_the_same_results_as_sequential_ones(client):
    """The server answers requests in parallel (no lock): the answers must not change."""
    from concurrent.futures import ThreadPoolExecutor

    queries = ["a red circle", "two dogs play in the snow", "a boy on a bike", "a blue square",
               "people on a beach", "a little girl playing", "a green field", "a car"] * 4

    def ask(query: str) -> dict:
        return client.get("/api/search", params={"q": query, "k": 5}).json()

    sequential = [ask(q) for q in queries]
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(ask, queries))
    assert concurrent == sequential


# ------------------------------------------------------------------ bounded echo (#32)
@pytest.mark.parametrize("q", ["a" * 60_000, " ".join(f"собака{i}" for i in range(1_000))])  # the client caps a URL at 64 KB
def test_the_page_reflects_at_most_a_few_hundred_characters_of_the_query(client, q):
    from imagesearch.serving.web.app import PAGE_ECHO_CHARS

    response = client.get("/", params={"q": q})
    assert response.status_code == 422 and 'id="message"' in response.text
    assert len(response.content) < 20_000  # was 401 KB for a 100 KB query: four copies
    decoded = html.unescape(unquote_plus(response.text))  # the links' copies too
    assert q[:PAGE_ECHO_CHARS] in decoded and q[:PAGE_ECHO_CHARS + 1] not in decoded


def test_the_language_links_carry_only_known_parameters(client):
    response = client.get("/", params={"q": "a red circle", "k": "3", "utm_source": "x" * 5000,
                                       "evil": '"><script>'})
    assert "utm_source" not in response.text and "evil" not in response.text
    assert 'href="/?q=a+red+circle&amp;k=3&amp;lang=ru"' in response.text


def test_a_bad_k_is_not_reflected_back(client):
    response = client.get("/", params={"k": "9" * 4000})
    assert response.status_code == 422 and "9" * 50 not in response.text


def test_a_query_in_a_language_no_list_covers_gets_the_message_naming_the_checked_ones(client) -> None:
    """legal.uncovered_language: refuse (the default): no photos, and a message saying which
    languages are checked, on the API and the page alike."""
    from imagesearch.legal.policy import UNCOVERED_MESSAGE

    body = client.get("/api/search", params={"q": "děti si hrají v parku"}).json()
    assert body["results"] == [] and body["disclaimer"] == UNCOVERED_MESSAGE
    page = client.get("/", params={"q": "děti si hrají v parku"}).text
    assert UNCOVERED_MESSAGE in html.unescape(page)
    page_ru = client.get("/", params={"q": "děti si hrají v parku", "lang": "ru"}).text
    assert i18n.UNCOVERED_MESSAGES["ru"] in html.unescape(page_ru)
    for lang in ("en", "ru"):  # the page names the checked languages in its own language
        assert ("Kazakh" if lang == "en" else "казахском") in i18n.TEXTS[lang]["hint"]


@pytest.mark.parametrize("batch", [0, 2])
def test_under_notice_a_query_no_list_covers_is_served_with_the_notice_beside_the_results(notice_index, batch):
    """legal.uncovered_language: notice: results, and beside them the notice naming the checked
    languages, in the API (English and the Accept-Language one) and on the page (its language),
    through the plain and the micro-batched search alike; a covered query gets no notice."""
    from imagesearch.legal.policy import UNCOVERED_NOTICE
    from imagesearch.serving.searcher import Searcher

    query = "Een man fietst in het park"  # Dutch: no list; the second line allows it
    with TestClient(create_app(searcher=Searcher.load(notice_index), batch=batch)) as client:
        body = client.get("/api/search", params={"q": query, "k": 2},
                          headers={"Accept-Language": "ru"}).json()
        assert body["disclaimer"] is None and len(body["results"]) == 2
        assert body["notice"] == UNCOVERED_NOTICE and "Kazakh" in body["notice"]
        assert body["notice_localized"] == i18n.UNCOVERED_NOTICES["ru"] and "казахский" in body["notice_localized"]
        covered = client.get("/api/search", params={"q": "two dogs play in the snow", "k": 2}).json()
        assert covered["notice"] is None and covered["notice_localized"] is None and covered["results"]
        for lang, notice in (("en", UNCOVERED_NOTICE), ("ru", i18n.UNCOVERED_NOTICES["ru"])):
            page = html.unescape(client.get("/", params={"q": query, "k": 2, "lang": lang}).text)
            assert 'id="notice"' in page and notice in page and 'id="results"' in page
            assert page.index('id="notice"') < page.index('id="results"')
        assert 'id="notice"' not in client.get("/", params={"q": "two dogs play in the snow"}).text
        refused = client.get("/api/search", params={"q": "Het meisje speelt in het park"}).json()
        assert refused["results"] == [] and refused["disclaimer"] and refused["notice"] is None
