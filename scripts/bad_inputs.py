"""Print every bad input that the API tests send (tests/server/test_bad_inputs.py and
test_bad_filters.py) with the server's actual answer, as a markdown table:

    python scripts/bad_inputs.py > runs/bad_inputs.md
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402
from tests.server.test_bad_filters import WHERE_CASES  # noqa: E402
from tests.server.test_bad_inputs import CASES  # noqa: E402

from fashionclip import load_model  # noqa: E402
from fashionclip.sample import sample_catalog  # noqa: E402
from fashionclip.search import Catalog  # noqa: E402
from fashionclip.server import ServerConfig, create_app  # noqa: E402


def main() -> int:
    encoder = load_model("fashion-clip-mini", backend="torch", precision="fp32")
    root, _ = sample_catalog()
    with tempfile.TemporaryDirectory() as folder:
        catalog = Catalog.open(Path(folder) / "sample.lance", model=encoder)
        catalog.index(root / "catalog.csv")
        print("| bad input | request | status | error code: message |")
        print("|---|---|---:|---|")
        for what, settings, request, _, _ in CASES + WHERE_CASES:
            with TestClient(create_app(catalog, ServerConfig(**settings))) as client:
                response = client.request(**request)
            body = response.json()
            error = body.get("error") if isinstance(body, dict) else None
            answer = f"`{error['code']}`: {error['message']}" if error else f"{len(body.get('results', []))} results"
            answer = answer.replace("|", "\\|")[:160]
            target = f"{request['method']} {request['url'][:60]}".replace("|", "\\|")
            print(f"| {what} | `{target}` | {response.status_code} | {answer} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
