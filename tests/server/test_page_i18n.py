"""The search page in any language: its interface strings come from one table (static/strings.json),
the language from ``?lang=``, the saved choice or the browser, and a query in any script reaches
the API as typed. The table's own checks run without a browser; the rest in headless Chromium
against the app served by uvicorn, over a small catalogue embedded by the keyword test encoder
(its Chinese words name the same directions as the English ones)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
from PIL import Image

from fashionclip.search import Catalog
from fashionclip.server import ServerConfig, create_app
from fashionclip.server.app import STATIC
from fashionclip.server.background import CHROMIUM, CHROMIUM_ARGS
from fashionclip.testing import KeywordEncoder

from .conftest import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TABLE: dict[str, dict[str, str]] = json.loads((STATIC / "strings.json").read_text(encoding="utf-8"))
EN, ZH = TABLE["en"], TABLE["zh"]
SCRIPTS = sorted(STATIC.glob("*.js"))
PLACEHOLDER = re.compile(r"\{(\w+)\}")
ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
TIMEOUT_MS = 20_000
CARDS = '[data-testid="result-card"]'


# ---------------------------------------------------------------------------- the table
def has_key(strings: dict[str, str], key: str) -> bool:
    """``key`` itself, or a key with plural forms (``key.one``, ``key.other``...)."""
    return key in strings or f"{key}.other" in strings


class KeyedPage(HTMLParser):
    """index.html's keys (data-i18n, data-i18n-fill, data-i18n-<attribute>), the slots of each
    fill, and any text or attribute a reader sees that names no key."""

    SKIP = {"svg", "script", "style"}
    NOT_WORDS = {"fashionclip", "f"}  # the product's name and its logo letter

    def __init__(self) -> None:
        super().__init__()
        self.keys: set[str] = set()
        self.slots: dict[str, set[str]] = {}
        self.unkeyed: list[str] = []
        self.stack: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("data-i18n", "data-i18n-fill", *(f"data-i18n-{a}" for a in ATTRIBUTES)):
            if found.get(name):
                self.keys.add(str(found[name]))
        if "data-slot" in found and self.stack and self.stack[-1][1].get("data-i18n-fill"):
            self.slots.setdefault(str(self.stack[-1][1]["data-i18n-fill"]), set()).add(str(found["data-slot"]))
        for attribute in ATTRIBUTES:
            value = found.get(attribute) or ""
            if re.search(r"[A-Za-z]", value) and not found.get(f"data-i18n-{attribute}"):
                self.unkeyed.append(f'<{tag} {attribute}="{value}">')
        if tag not in {"meta", "link", "input", "img", "br", "hr"}:
            self.stack.append((tag, found))

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        words = data.strip()
        if not re.search(r"[A-Za-z]", words) or words in self.NOT_WORDS:
            return
        if any(tag in self.SKIP for tag, _ in self.stack):
            return
        attrs = self.stack[-1][1] if self.stack else {}
        if not (attrs.get("data-i18n") or attrs.get("data-i18n-fill")):
            self.unkeyed.append(words)


def page_keys() -> KeyedPage:
    parser = KeyedPage()
    parser.feed((STATIC / "index.html").read_text(encoding="utf-8"))
    return parser


def script_literals() -> dict[str, list[str]]:
    """Each module's string literals, comments left out."""
    out = {}
    for script in SCRIPTS:
        source = re.sub(r"(^|\s)//.*$", r"\1", script.read_text(encoding="utf-8"), flags=re.MULTILINE)
        out[script.name] = [next(g for g in m.groups() if g is not None) for m in LITERAL.finditer(source)]
    return out


LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'|`([^`]*)`')
KEY = re.compile(r"[a-z]+(?:\.[a-zA-Z]+)+")


def script_keys() -> set[str]:
    """The keys the scripts name: each literal in the first argument of ``msg(...)`` or ``t(...)``
    (``msg(flag ? "a.b" : "a.c")`` names both), and any other literal of a key's shape in one of
    the table's namespaces (``"language.name"``; ``"button.example"`` is a CSS selector)."""
    namespaces = {key.split(".")[0] for key in EN}
    found = set()
    for script in SCRIPTS:
        source = re.sub(r"(^|\s)//.*$", r"\1", script.read_text(encoding="utf-8"), flags=re.MULTILINE)
        for call in re.finditer(r"\b(?:msg|t)\(([^,()]*)", source):
            found |= {literal for literal in re.findall(r'"([^"]*)"', call.group(1)) if KEY.fullmatch(literal)}
    for literals in script_literals().values():
        found |= {lit for lit in literals if KEY.fullmatch(lit) and lit.split(".")[0] in namespaces}
    return found


def test_every_language_has_the_same_keys_and_placeholders() -> None:
    assert {"en", "zh"} <= set(TABLE)
    for code, strings in TABLE.items():
        assert re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)*", code), code
        assert sorted(strings) == sorted(EN), f"{code}: {set(strings) ^ set(EN)}"
        for key, value in strings.items():
            assert isinstance(value, str) and value.strip(), (code, key)
            # the same {names} as English: the page fills them all, and a translation drops none
            assert sorted(PLACEHOLDER.findall(value)) == sorted(PLACEHOLDER.findall(EN[key])), (code, key)
            assert "<" not in value and ">" not in value, (code, key)  # text, never markup
        assert strings["language.dir"] in {"ltr", "rtl"}
    # written, not copied: the Chinese interface is in Chinese
    same = [k for k in EN if EN[k] == ZH[k] and re.search(r"[A-Za-z]{3}", PLACEHOLDER.sub("", EN[k]))]
    assert same == ["language.dir"], same


def test_every_key_the_page_uses_is_in_the_table_and_none_is_unused() -> None:
    parsed = page_keys()
    used = parsed.keys | script_keys()
    missing = sorted(k for k in used if not has_key(EN, k))
    assert not missing, missing
    assert len(parsed.keys) > 50 and len(script_keys()) > 30
    # each fill's slots are the placeholders of its template, in every language
    for key, slots in parsed.slots.items():
        for strings in TABLE.values():
            assert set(PLACEHOLDER.findall(strings[key])) >= slots, key
    # every string of the table is shown somewhere (plural forms through their base key)
    unused = sorted(k for k in EN if k not in used and k.rsplit(".", 1)[0] not in used)
    assert not unused, unused


def test_no_interface_string_is_written_into_the_page_or_its_scripts() -> None:
    """index.html's words all carry a key (they are its English when scripts do not run); the
    scripts hold no English sentence and never write HTML."""
    assert page_keys().unkeyed == []
    sentence = re.compile(r"\b[A-Z][a-z]+ [a-z]+|\b[a-z]+ [a-z]+ [a-z]+\b|[A-Za-z]{2,} \$\{|\} [a-z]{2,}")
    for name, literals in script_literals().items():
        english = [literal for literal in literals if sentence.search(literal)]
        assert not english, (name, english)
    for script in SCRIPTS:
        source = script.read_text(encoding="utf-8")
        assert not re.search(r"\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write", source), script.name


# ---------------------------------------------------------------------------- browser fixtures
ROWS = [  # id, colour of the photo, title, gender: the only red photo is the red dress
    ("d1", "red", "Red summer dress", "Women"),
    ("j1", "blue", "Blue denim jeans", "Men"),
    ("s1", "white", "White cotton shirt", "Men"),
    ("s2", "blue", "Blue oxford shirt", "Men"),
    ("h1", "black", "Black leather shoes", "Women"),
    ("d2", "yellow", "Yellow midi dress", "Women"),
    ("b1", "green", "Green canvas bag", "Women"),
]


@pytest.fixture(scope="module")
def keyword_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    folder = tmp_path_factory.mktemp("i18n")
    (folder / "img").mkdir()
    lines = ["id,image,title,gender"]
    for i, (product_id, colour, title, gender) in enumerate(ROWS):
        pixel = tuple(min(255, c + i) for c in KeywordEncoder.COLOURS[colour])  # each photo a little different
        Image.new("RGB", (8, 8), pixel).save(folder / "img" / f"{product_id}.png")
        lines.append(f"{product_id},img/{product_id}.png,{title},{gender}")
    (folder / "catalog.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    catalog = Catalog.open(folder / "shop.lance", model=KeywordEncoder())
    catalog.index(folder / "catalog.csv")
    return catalog


@pytest.fixture(scope="module")
def server(keyword_catalog: Catalog) -> Iterator[LiveServer]:
    with LiveServer(create_app(keyword_catalog, ServerConfig())) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True)
        yield launched
        launched.close()


@pytest.fixture()
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """``open_page(url, locale=...)``: a fresh browser context (its own storage) on ``url``, the
    filters loaded; any script error, and any dialog (alert), fails the test."""
    contexts, problems = [], []

    def opened(url: str, locale: str = "en-US") -> Page:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale=locale)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        page.goto(url)
        page.wait_for_selector('[data-testid="filter-gender"]', state="attached")
        return page

    yield opened
    for context in contexts:
        context.close()
    assert not problems, problems


def settled(page: Page, action: Callable[[], Any]) -> None:
    """Run ``action`` and wait for the search it starts to finish."""
    before = int(page.get_attribute('[data-testid="results"]', "data-seq") or 0)
    action()
    page.wait_for_function(
        """(before) => {
            const results = document.querySelector('[data-testid="results"]');
            return Number(results.dataset.seq || 0) > before && results.dataset.state === "done";
        }""",
        arg=before,
    )


def interface(page: Page) -> dict[str, Any]:
    return page.evaluate(
        """() => ({
            lang: document.documentElement.lang,
            button: document.querySelector('[data-testid="search-button"]').textContent.trim(),
            placeholder: document.querySelector('[data-testid="search-input"]').placeholder,
            filtersTitle: document.querySelector('.sidebar h2').textContent,
            any: document.querySelector('[data-testid="filter-gender"] option').textContent,
            selected: document.querySelector('[data-testid="lang-select"]').value,
        })"""
    )


def keyed_texts(page: Page) -> list[list[str]]:
    """[key, text] of every element that shows one key with no arguments."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-i18n]:not([data-i18n-args])')]
            .map(e => [e.dataset.i18n, e.textContent])"""
    )


def expect_language(page: Page, strings: dict[str, str], code: str) -> None:
    shown = interface(page)
    assert shown == {
        "lang": code,
        "button": strings["search.button"],
        "placeholder": strings["search.placeholder"],
        "filtersTitle": strings["filters.title"],
        "any": strings["filters.any"],
        "selected": code,
    }
    wrong = [(key, text) for key, text in keyed_texts(page) if key in strings and text != strings[key]]
    assert not wrong, wrong


# ---------------------------------------------------------------------------- browser tests
def test_lang_zh_shows_the_chinese_interface(open_page: Callable[..., Page], server: LiveServer) -> None:
    page = open_page(server.url + "/?lang=zh")
    expect_language(page, ZH, "zh")
    assert page.get_attribute("html", "lang") == "zh"
    assert page.text_content('[data-testid="search-button"]').strip() == "搜索"
    assert page.get_attribute('[data-testid="search-input"]', "placeholder") == "例如：红色碎花夏季连衣裙"
    assert "件商品" in page.title() and "7" in page.title()
    assert page.get_attribute("#empty-title", "data-i18n") == "empty.welcomeTitle"
    assert page.text_content("#empty-title") == ZH["empty.welcomeTitle"]
    # the selector names each language in its own words
    options = page.locator('[data-testid="lang-select"] option')
    assert options.evaluate_all("os => os.map(o => [o.value, o.textContent])") == [
        ["en", "English"],
        ["zh", "简体中文"],
    ]
    # the example queries are the catalogue's own words, as it gives them
    examples = page.locator("#examples button.example").evaluate_all("bs => bs.map(b => b.textContent)")
    assert examples == ["Women", "Men"]
    # a message the page writes itself: asked for a query, in Chinese
    page.click('[data-testid="search-button"]')
    assert page.text_content("#error-message") == ZH["search.needInput"]


def test_the_selector_switches_the_language_live(open_page: Callable[..., Page], server: LiveServer) -> None:
    page = open_page(server.url + "/?lang=zh")
    page.fill('[data-testid="search-input"]', "dress")
    settled(page, lambda: page.click('[data-testid="search-button"]'))
    count = page.locator('[data-testid="results-count"]')
    more_like = page.locator(f'{CARDS} [data-testid="more-like-this"]').first
    assert "件商品" in count.text_content() and "“dress”" in count.text_content()
    assert more_like.text_content() == ZH["card.moreLike"]
    title = page.locator(f"{CARDS} .card-title").first.text_content()

    seq = page.get_attribute('[data-testid="results"]', "data-seq")
    page.select_option('[data-testid="lang-select"]', "en")
    expect_language(page, EN, "en")
    # what the page wrote since it opened follows too: the count, the cards, the document title
    assert "7 products" in count.text_content() and "“dress”" in count.text_content()
    assert more_like.text_content() == EN["card.moreLike"]
    assert more_like.get_attribute("aria-label") == f"More like {title}"
    assert page.title() == "fashionclip · keyword-test · 7 products"
    # live: no reload, no new search; the choice is saved and the address follows it
    assert page.get_attribute('[data-testid="results"]', "data-seq") == seq
    assert page.evaluate("localStorage.getItem('fashionclip.lang')") == "en"
    assert page.url.endswith("/?lang=en")

    page.select_option('[data-testid="lang-select"]', "zh")
    expect_language(page, ZH, "zh")
    assert more_like.text_content() == ZH["card.moreLike"]
    assert more_like.get_attribute("aria-label") == f"与{title}相似的商品"
    assert page.url.endswith("/?lang=zh")

    # the saved choice stands when the address names none
    page.select_option('[data-testid="lang-select"]', "en")
    page.goto(server.url + "/")
    page.wait_for_selector('[data-testid="filter-gender"]', state="attached")
    expect_language(page, EN, "en")


def test_a_chinese_query_finds_the_red_dress(
    open_page: Callable[..., Page], server: LiveServer, keyword_catalog: Catalog
) -> None:
    query = "红色连衣裙"
    page = open_page(server.url + "/?lang=zh")
    page.fill('[data-testid="search-input"]', query)
    with page.expect_request(lambda r: r.url.endswith("/search") and r.method == "POST") as sent:
        settled(page, lambda: page.press('[data-testid="search-input"]', "Enter"))
    assert json.loads(sent.value.post_data_buffer.decode("utf-8"))["text"] == query  # UTF-8 JSON, intact

    cards = page.eval_on_selector_all(CARDS, "cs => cs.map(c => c.dataset.id)")
    assert cards[0] == "d1" and page.locator(f"{CARDS} .card-title").first.text_content() == "Red summer dress"
    assert cards == [hit.id for hit in keyword_catalog.search(query, k=24)]
    assert f"“{query}”" in page.text_content('[data-testid="results-count"]')
    # the same query in English finds the same dress
    assert keyword_catalog.search("red dress", k=1)[0].id == "d1"

    # with a photo (the yellow dress) the text goes as a form field of the upload: intact, the red
    # dress comes second, after the photo's own product
    photo = Path(keyword_catalog.store.get(["d2"])[0].image)
    settled(page, lambda: page.set_input_files('[data-testid="image-input"]', str(photo)))
    expected = [hit.id for hit in keyword_catalog.search(query, image=photo, image_weight=0.5, k=24)]
    assert expected[:2] == ["d2", "d1"]
    assert page.eval_on_selector_all(CARDS, "cs => cs.map(c => c.dataset.id)") == expected


@pytest.mark.parametrize(
    "hostile", ["<img src=x onerror=alert(1)>", "__proto__", "constructor", "toString", "zh\u0000"]
)
def test_an_unknown_or_hostile_lang_falls_back_to_english(
    open_page: Callable[..., Page], server: LiveServer, hostile: str
) -> None:
    page = open_page(f"{server.url}/?lang={quote(hostile)}")
    page.wait_for_timeout(200)  # an onerror handler would have run by now
    expect_language(page, EN, "en")
    # the value went nowhere: no element made of it, and no dialog (open_page fails on one)
    assert page.locator('img[src="x"]').count() == 0
    assert hostile not in page.content()


def test_a_hostile_saved_choice_is_ignored(open_page: Callable[..., Page], server: LiveServer) -> None:
    page = open_page(server.url + "/")
    page.evaluate("localStorage.setItem('fashionclip.lang', '__proto__')")
    page.reload()
    page.wait_for_selector('[data-testid="filter-gender"]', state="attached")
    expect_language(page, EN, "en")


@pytest.mark.parametrize(("locale", "code"), [("zh-CN", "zh"), ("zh-TW", "zh"), ("fr-FR", "en"), ("en-GB", "en")])
def test_the_browser_language_is_the_default(
    open_page: Callable[..., Page], server: LiveServer, locale: str, code: str
) -> None:
    page = open_page(server.url + "/", locale=locale)
    expect_language(page, TABLE[code], code)


def test_the_address_beats_the_browser_language(open_page: Callable[..., Page], server: LiveServer) -> None:
    page = open_page(server.url + "/?lang=en", locale="zh-CN")
    expect_language(page, EN, "en")
    page = open_page(server.url + "/?lang=xx", locale="zh-CN")  # unknown: the next source decides
    expect_language(page, ZH, "zh")
