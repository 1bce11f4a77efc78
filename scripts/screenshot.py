"""Screenshots of the search page over the bundled sample catalogue (for the docs).

Indexes the 120-product sample into a temporary LanceDB with the bundled model, serves the app with
uvicorn on 127.0.0.1, searches in headless Chromium with a filter applied and saves a PNG::

    python scripts/screenshot.py                       # docs/web-page.png
    python scripts/screenshot.py out.png --panel       # and docs/web-page-tags.png (tags panel open)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", nargs="?", type=Path, default=REPO / "docs" / "web-page.png")
    parser.add_argument("--panel", action="store_true", help="also save a screenshot with the tags panel open")
    parser.add_argument("--panel-output", type=Path, default=REPO / "docs" / "web-page-tags.png")
    parser.add_argument("--query", default="red dress for women")
    parser.add_argument("--filter", default="gender=Women", help="column=value for a text facet")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from fashionclip.sample import sample_catalog
    from fashionclip.search import Catalog
    from fashionclip.server import ServerConfig, create_app
    from fashionclip.server.background import CHROMIUM, CHROMIUM_ARGS, BackgroundServer

    column, _, value = args.filter.partition("=")
    with tempfile.TemporaryDirectory(prefix="fashionclip-shot-") as tmp:
        root, _ = sample_catalog()
        catalog = Catalog.open(Path(tmp) / "sample.lance", model="fashion-clip-mini", backend="torch", precision="fp32")
        catalog.index(root / "catalog.csv")
        with BackgroundServer(create_app(catalog, ServerConfig())) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True)
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(server.url + "/")
            page.wait_for_selector(f'[data-testid="filter-{column}"]')
            if column:
                page.select_option(f'[data-testid="filter-{column}"]', value)
            page.fill('[data-testid="search-input"]', args.query)
            page.click('[data-testid="search-button"]')
            wait_for_results(page)
            args.output.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.output))
            print(f"saved {args.output}")
            if args.panel:
                page.locator('[data-testid="result-card"]').first.locator('[data-testid="tags-button"]').click()
                page.wait_for_selector('[data-testid="product-tags"][data-state="done"]')
                page.wait_for_function("() => document.getElementById('panel-img').complete")
                page.wait_for_timeout(300)  # the panel's slide-in
                args.panel_output.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.panel_output))
                print(f"saved {args.panel_output}")
            browser.close()


def wait_for_results(page) -> None:  # noqa: ANN001
    page.wait_for_selector('[data-testid="results"][data-state="done"]')
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=result-card] img')]"
        ".filter(img => img.getBoundingClientRect().top < innerHeight)"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )


if __name__ == "__main__":
    main()
