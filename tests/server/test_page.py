"""The search page in a real browser (headless Chromium driven by Playwright) against the app served
by uvicorn; the library's own ``Catalog.search`` on the same index is the oracle for every result list."""

from __future__ import annotations

import base64
import csv
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fashionclip.sample import sample_catalog
from fashionclip.search import Catalog
from fashionclip.server import ServerConfig, create_app
from fashionclip.server.background import CHROMIUM, CHROMIUM_ARGS

from .conftest import LiveServer

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

PAGE_SIZE = 24
QUERY = "black leather handbag"
CARDS = '[data-testid="result-card"]'
TIMEOUT_MS = 20_000


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    opened.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    yield opened
    context.close()
    # a JS exception is a bug even when the assertions passed; failed resources (4xx) log console errors
    errors = [p for p in problems if p.startswith("page error")]
    assert not errors, errors


@pytest.fixture(scope="module")
def sample_rows() -> tuple[Path, list[dict[str, str]]]:
    return sample_catalog()


def image_of(product_id: str) -> Path:
    root, rows = sample_catalog()
    row = next(r for r in rows if r["id"] == product_id)
    return root / row["image"]


@pytest.fixture(scope="module")
def priced_db(tmp_path_factory: pytest.TempPathFactory, mini_encoder) -> Path:  # noqa: ANN001
    """30 sample products with a numeric ``price`` column, for the range filter."""
    root, rows = sample_catalog()
    folder = tmp_path_factory.mktemp("priced")
    source = folder / "catalog.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "image", "title", "gender", "articleType", "price"])
        for i, row in enumerate(rows[:30]):
            writer.writerow(
                [row["id"], str(root / row["image"]), row["title"], row["gender"], row["articleType"], 10 + 5 * i]
            )
    db = folder / "priced.lance"
    Catalog.open(db, model=mini_encoder).index(source)
    return db


# ---------------------------------------------------------------------------- helpers
def open_page(page: Page, url: str) -> None:
    page.goto(url + "/")
    page.wait_for_selector('[data-testid="filter-gender"]', state="attached")


def card_ids(page: Page) -> list[str]:
    return page.eval_on_selector_all(CARDS, "cards => cards.map(c => c.dataset.id)")


def settled(page: Page, action: Callable[[], Any], expect: str = "done") -> None:
    """Run ``action`` (a click, a key press...) and wait for the search it starts to finish."""
    before = int(page.get_attribute('[data-testid="results"]', "data-seq") or 0)
    action()
    page.wait_for_function(
        """([before, expect]) => {
            const results = document.querySelector('[data-testid="results"]');
            return Number(results.dataset.seq || 0) > before && results.dataset.state === expect;
        }""",
        arg=[before, expect],
    )


def search_text(page: Page, text: str) -> None:
    page.fill('[data-testid="search-input"]', text)
    settled(page, lambda: page.click('[data-testid="search-button"]'))


def ids_of(hits: list[Any]) -> list[str]:
    return [h.id for h in hits]


def first_image_loaded(page: Page) -> None:
    page.wait_for_function(
        """() => {
            const img = document.querySelector('[data-testid="result-card"] img');
            return img && img.complete && img.naturalWidth > 0;
        }"""
    )


# ---------------------------------------------------------------------------- tests
def test_page_shows_server_and_filters(page: Page, live_server: LiveServer, catalog: Catalog, sample_rows) -> None:
    open_page(page, live_server.url)
    assert page.text_content('[data-testid="app-name"]') == "fashionclip"
    assert page.text_content('[data-testid="model-name"]') == catalog.encoder.name == "fashion-clip-mini"
    assert page.text_content('[data-testid="product-count"]') == "120"
    assert "120" in page.title()

    _, rows = sample_rows
    for column in ("gender", "masterCategory", "articleType", "baseColour", "season", "usage"):
        select = page.locator(f'[data-testid="filter-{column}"]')
        assert select.evaluate("e => e.tagName") == "SELECT"
        # a visible label names it
        label = page.locator(f'label[for="{select.get_attribute("id")}"]')
        assert label.count() == 1 and label.text_content().strip()
        options = select.locator("option")
        values = options.evaluate_all("os => os.map(o => o.value)")
        texts = options.evaluate_all("os => os.map(o => o.textContent)")
        counts = Counter(r[column] for r in rows)
        assert values[0] == "" and texts[0] == "Any"
        assert sorted(values[1:]) == sorted(counts)
        for value, text in zip(values[1:], texts[1:], strict=True):
            assert text == f"{value} ({counts[value]})"
    # nothing searched yet: no cards, no error, no paging
    assert card_ids(page) == []
    assert page.is_hidden('[data-testid="error"]')
    assert page.is_hidden('[data-testid="load-more"]')
    # every control is labelled; every button is a <button>
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.id)"""
    )
    assert unlabelled == []


def test_text_search_matches_library_and_pages(page: Page, live_server: LiveServer, catalog: Catalog) -> None:
    open_page(page, live_server.url)
    page.fill('[data-testid="search-input"]', QUERY)
    settled(page, lambda: page.press('[data-testid="search-input"]', "Enter"))  # Enter submits

    expected = catalog.search(QUERY, k=PAGE_SIZE)
    assert card_ids(page) == ids_of(expected)
    first = page.locator(CARDS).first
    assert first.locator('[data-testid="result-title"]').text_content() == expected[0].text
    assert first.locator("img").get_attribute("alt") == expected[0].text
    shown = float(first.locator('[data-testid="result-score"]').text_content())
    assert shown == pytest.approx(expected[0].score, abs=0.0011)
    assert len(first.locator('[data-testid="result-score"]').text_content().split(".")[1]) == 3
    chips = first.locator(".meta-chip").evaluate_all("cs => cs.map(c => [c.dataset.field, c.textContent])")
    assert ["articleType", expected[0].metadata["articleType"]] in chips
    assert ["baseColour", expected[0].metadata["baseColour"]] in chips
    first_image_loaded(page)
    assert "24" in page.text_content('[data-testid="results-count"]')

    # "Load more" fetches the next page with the offset
    settled(page, lambda: page.click('[data-testid="load-more"]'))
    assert card_ids(page) == ids_of(expected) + ids_of(catalog.search(QUERY, k=PAGE_SIZE, offset=PAGE_SIZE))
    assert "48" in page.text_content('[data-testid="results-count"]')


def test_filters_rerun_the_search(page: Page, live_server: LiveServer, catalog: Catalog) -> None:
    open_page(page, live_server.url)
    search_text(page, QUERY)
    unfiltered = card_ids(page)

    settled(page, lambda: page.select_option('[data-testid="filter-gender"]', "Women"))
    expected = catalog.search(QUERY, where={"gender": "Women"}, k=PAGE_SIZE)
    assert expected and all(h.metadata["gender"] == "Women" for h in expected)
    assert card_ids(page) == ids_of(expected)
    genders = page.eval_on_selector_all(f'{CARDS} [data-field="gender"]', "cs => cs.map(c => c.textContent)")
    assert genders == ["Women"] * len(expected)

    # two filters together, one with a space in its value
    settled(page, lambda: page.select_option('[data-testid="filter-baseColour"]', "Navy Blue"))
    both = catalog.search(QUERY, where={"gender": "Women", "baseColour": "Navy Blue"}, k=PAGE_SIZE)
    assert card_ids(page) == ids_of(both)
    if not both:
        assert "No products" in page.text_content('[data-testid="results-count"]')

    # back to "Any": the unfiltered results again
    page.select_option('[data-testid="filter-baseColour"]', "")
    settled(page, lambda: page.select_option('[data-testid="filter-gender"]', ""))
    assert card_ids(page) == unfiltered


def test_image_upload_search_and_composed(page: Page, live_server: LiveServer, catalog: Catalog) -> None:
    photo = image_of("1163")
    open_page(page, live_server.url)
    settled(page, lambda: page.set_input_files('[data-testid="image-input"]', str(photo)))
    expected = catalog.search(image=photo, k=PAGE_SIZE)
    assert card_ids(page) == ids_of(expected)
    assert card_ids(page)[0] == "1163"
    assert page.locator(CARDS).first.locator('[data-testid="result-score"]').text_content() == "1.000"
    assert page.is_visible('[data-testid="image-preview"]')
    assert page.is_hidden("#image-weight-field")  # no text: nothing to weigh

    # text + image: a composed search, image weight 0.5 by default
    page.fill('[data-testid="search-input"]', "red")
    assert page.is_visible('[data-testid="image-weight"]')
    assert page.input_value('[data-testid="image-weight"]') == "0.5"
    settled(page, lambda: page.click('[data-testid="search-button"]'))
    assert card_ids(page) == ids_of(catalog.search("red", image=photo, image_weight=0.5, k=PAGE_SIZE))

    # a heavier text weight changes the composed query
    settled(page, lambda: page.fill('[data-testid="image-weight"]', "0.2"))
    assert card_ids(page) == ids_of(catalog.search("red", image=photo, image_weight=0.2, k=PAGE_SIZE))

    # removing the image leaves a text search
    settled(page, lambda: page.click('[data-testid="remove-image"]'))
    assert page.is_hidden('[data-testid="image-preview"]')
    assert card_ids(page) == ids_of(catalog.search("red", k=PAGE_SIZE))


def test_more_like_this(page: Page, live_server: LiveServer, catalog: Catalog) -> None:
    open_page(page, live_server.url)
    search_text(page, QUERY)
    original = card_ids(page)
    card = page.locator(CARDS).nth(2)
    product_id = card.get_attribute("data-id")
    title = card.locator('[data-testid="result-title"]').text_content()

    settled(page, lambda: card.locator('[data-testid="more-like-this"]').click())
    expected = ids_of(catalog.search(like=product_id, k=PAGE_SIZE))
    assert card_ids(page) == expected
    assert product_id not in card_ids(page)
    assert page.is_visible('[data-testid="similar-banner"]')
    assert title in page.text_content('[data-testid="similar-banner"]')
    assert page.is_hidden('[data-testid="product-panel"]')

    # back to the search it came from
    settled(page, lambda: page.click('[data-testid="similar-back"]'))
    assert page.is_hidden('[data-testid="similar-banner"]')
    assert card_ids(page) == original


def test_tags_panel(page: Page, live_server: LiveServer, catalog: Catalog) -> None:
    from fashionclip.server.app import DEFAULT_TAXONOMY
    from fashionclip.zeroshot.taxonomy import Tagger, Taxonomy

    open_page(page, live_server.url)
    search_text(page, QUERY)
    card = page.locator(CARDS).first
    product_id = card.get_attribute("data-id")
    card.locator('[data-testid="tags-button"]').click()
    panel = page.locator('[data-testid="product-panel"]')
    panel.wait_for(state="visible")
    page.wait_for_selector('[data-testid="product-tags"][data-state="done"]')

    hit = catalog.store.get([product_id], with_vectors=True)[0]
    assert panel.locator("#panel-title").text_content() == hit.text
    assert panel.locator("img").get_attribute("alt") == hit.text
    page.wait_for_function("() => document.getElementById('panel-img').naturalWidth > 0")
    for column, value in hit.metadata.items():
        assert panel.locator(f'dd[data-field="{column}"]').text_content() == str(value)

    expected = Tagger(catalog.encoder, Taxonomy.load(DEFAULT_TAXONOMY)).tag_embeddings(hit.vector[None, :], k=3)[0]
    tags = page.locator('[data-testid="product-tags"]')
    groups = tags.locator(".tag-group").evaluate_all("gs => gs.map(g => g.dataset.attribute)")
    assert groups == list(expected) and {"category", "colour", "pattern", "style"} <= set(groups)
    for attribute, predictions in expected.items():
        chips = tags.locator(f'.tag-group[data-attribute="{attribute}"] [data-testid="tag-chip"]')
        assert chips.evaluate_all("cs => cs.map(c => c.dataset.label)") == [p.label for p in predictions]
        score = float(chips.first.locator(".tag-score").text_content())
        assert score == pytest.approx(predictions[0].score, abs=0.006)

    # Escape closes it; a click on the card itself opens it too
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")
    page.locator(CARDS).nth(1).locator('[data-testid="result-title"]').click()
    panel.wait_for(state="visible")
    assert panel.locator("#panel-id").text_content() == page.locator(CARDS).nth(1).get_attribute("data-id")
    page.click('[data-testid="panel-close"]')
    panel.wait_for(state="hidden")


def test_errors_are_shown_and_page_recovers(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("this is a text file, not a photo\n")
    open_page(page, live_server.url)
    settled(page, lambda: page.set_input_files('[data-testid="image-input"]', str(not_an_image)), expect="error")
    error = page.locator('[data-testid="error"]')
    assert error.is_visible()
    assert error.get_attribute("role") == "alert"
    assert "not a readable image" in error.text_content()
    assert card_ids(page) == []

    # still usable: drop the bad file, search by text
    page.click('[data-testid="remove-image"]')
    search_text(page, QUERY)
    assert error.is_hidden()
    assert len(card_ids(page)) == PAGE_SIZE


def test_empty_search_asks_for_input(page: Page, live_server: LiveServer) -> None:
    open_page(page, live_server.url)
    page.click('[data-testid="search-button"]')
    assert page.locator('[data-testid="error"]').is_visible()
    assert card_ids(page) == []
    assert page.evaluate("document.activeElement.dataset.testid") == "search-input"


def test_drag_and_drop_image(page: Page, live_server: LiveServer, catalog: Catalog) -> None:
    photo = image_of("1163")
    open_page(page, live_server.url)
    data = page.evaluate_handle(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "dropped.jpg", {type: "image/jpeg"}));
            return transfer;
        }""",
        base64.b64encode(photo.read_bytes()).decode(),
    )
    zone = page.locator('[data-testid="drop-zone"]')
    zone.dispatch_event("dragenter", {"dataTransfer": data})
    zone.dispatch_event("dragover", {"dataTransfer": data})
    assert "is-dragging" in (zone.get_attribute("class") or "")
    settled(page, lambda: zone.dispatch_event("drop", {"dataTransfer": data}))
    assert card_ids(page) == ids_of(catalog.search(image=photo, k=PAGE_SIZE))
    assert card_ids(page)[0] == "1163"
    assert "is-dragging" not in (zone.get_attribute("class") or "")
    assert page.text_content("#preview-name") == "dropped.jpg"


def test_numeric_range_and_partial_facets(page: Page, priced_db: Path, mini_encoder) -> None:  # noqa: ANN001
    catalog = Catalog.open(priced_db, model=mini_encoder)
    with LiveServer(create_app(catalog, ServerConfig(facet_values=2))) as server:
        open_page(page, server.url)
        # only the 2 most frequent genders are given (complete: false), still listed
        facets = catalog.store.facets(2)
        assert not facets["gender"].to_dict()["complete"]
        values = page.locator('[data-testid="filter-gender"] option').evaluate_all("os => os.map(o => o.value)")
        assert values == ["", *facets["gender"].to_dict()["values"]]
        low, high = page.locator('[data-testid="filter-price-min"]'), page.locator('[data-testid="filter-price-max"]')
        assert low.get_attribute("type") == high.get_attribute("type") == "number"
        assert low.get_attribute("placeholder") == "10" and high.get_attribute("placeholder") == "155"

        search_text(page, "shirt")
        low.fill("50")
        settled(page, lambda: low.press("Enter"))
        assert card_ids(page) == ids_of(catalog.search("shirt", where={"price": {">=": 50}}, k=PAGE_SIZE))
        high.fill("100")
        settled(page, lambda: high.press("Tab"))
        expected = catalog.search("shirt", where={"price": {">=": 50, "<=": 100}}, k=PAGE_SIZE)
        assert expected and all(50 <= h.metadata["price"] <= 100 for h in expected)
        assert card_ids(page) == ids_of(expected)

        # the range applies to "more like this" as well
        like = expected[0].id
        settled(page, lambda: page.locator(f'{CARDS}[data-id="{like}"] [data-testid="more-like-this"]').click())
        similar = catalog.search(like=like, where=["price>=50", "price<=100"], k=PAGE_SIZE)
        assert card_ids(page) == ids_of(similar)


def test_api_key_is_asked_for_and_sent(page: Page, priced_db: Path, mini_encoder) -> None:  # noqa: ANN001
    key = "s3cret-page-key"
    catalog = Catalog.open(priced_db, model=mini_encoder)
    with LiveServer(create_app(catalog, ServerConfig(api_key=key))) as server:
        page.goto(server.url + "/")
        key_input = page.locator('[data-testid="api-key-input"]')
        key_input.wait_for(state="visible")
        assert page.text_content('[data-testid="product-count"]') == "30"  # /health needs no key
        assert page.locator('[data-testid="filter-gender"]').count() == 0

        # a wrong key: the server's message, no filters
        key_input.fill("wrong-key-123")
        page.click('[data-testid="api-key-save"]')
        page.wait_for_selector('[data-testid="error"]:not([hidden])')
        assert "API key" in page.text_content('[data-testid="error"]')

        key_input.fill(key)
        page.click('[data-testid="api-key-save"]')
        page.wait_for_selector('[data-testid="filter-gender"]', state="attached")
        assert page.evaluate("sessionStorage.getItem('fashionclip.apiKey')") == key
        search_text(page, "shirt")
        assert card_ids(page) == ids_of(catalog.search("shirt", k=PAGE_SIZE))
        # images come through fetch() with the key, shown from blob: URLs
        first_image_loaded(page)
        assert page.locator(f"{CARDS} img").first.get_attribute("src").startswith("blob:")

        # the key survives a reload (sessionStorage)
        page.reload()
        page.wait_for_selector('[data-testid="filter-gender"]', state="attached")
        assert page.input_value('[data-testid="api-key-input"]') == key


def test_page_static_files_served(live_server: LiveServer) -> None:
    import httpx

    for path, kind in (("/", "text/html"), ("/static/main.js", "javascript"), ("/static/style.css", "text/css")):
        response = httpx.get(live_server.url + path)
        assert response.status_code == 200
        assert kind in response.headers["content-type"]
    html = httpx.get(live_server.url + "/").text
    # nothing from outside: no CDN, no external fonts
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
