"""``fashionclip serve`` started for real as a process on 127.0.0.1: it serves, and stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from fashionclip.cli.main import main


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def _wait_up(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early: {process.stderr.read()}")  # type: ignore[union-attr]
        try:
            urllib.request.urlopen(url + "/health", timeout=2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("server did not come up")


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("key") / "key.txt"
    path.write_text("correct-horse-battery\n")
    return path


def test_serve_the_sample_with_a_key_then_stop_gracefully(key_file: Path, tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "FASHIONCLIP_CACHE": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "fashionclip.cli.main", "serve", "--sample", "--port", str(port)]
    command += ["--api-key-file", str(key_file), "--backend", "torch", "--precision", "fp32"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_up(url, process)
        status, health = _get(url + "/health")
        assert status == 200 and health["products"] == 120 and health["api_key_required"]
        assert _get(url + "/search?q=handbag")[0] == 401
        key = {"X-API-Key": "correct-horse-battery"}
        status, found = _get(url + "/search?q=black%20leather%20handbag&k=3", key)
        assert status == 200 and len(found["results"]) == 3

        # a request in flight when SIGTERM arrives still gets its answer
        answers: list[int] = []
        slow = threading.Thread(target=lambda: answers.append(_get(url + "/products/1163?tags=true", key)[0]))
        slow.start()
        time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        slow.join(30)
        # uvicorn finishes the requests, runs the app's shutdown, then re-raises the signal
        assert process.wait(30) in (0, -signal.SIGTERM)
        assert answers == [200]
        assert "Traceback" not in process.stderr.read()  # type: ignore[union-attr]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--db", "/nonexistent/index"], "no index at"),
        (["--sample", "--port", "0"], "--port must be in 1..65535"),
        (["--sample", "--max-upload-mb", "0"], "--max-upload-mb must be positive"),
        (["--sample", "--api-key-file", "/nonexistent/key"], "--api-key-file"),
        (["--sample", "--write-key-file", "/nonexistent/key"], "--write-key-file '/nonexistent/key'"),
        (["--sample", "--image-root", "/nonexistent/folder"], "is not a folder"),
        (["--sample", "--taxonomy", "/nonexistent/taxonomy.yaml"], "does not exist"),
        (["--sample", "--max-batch", "0"], "max_batch must be a positive integer"),
    ],
)
def test_serve_bad_arguments(arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", *arguments]) == 1
    assert message in capsys.readouterr().err


def test_a_short_api_key_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    short = tmp_path / "key"
    short.write_text("abc")
    assert main(["serve", "--sample", "--api-key-file", str(short)]) == 1
    assert "at least 8 characters" in capsys.readouterr().err


def test_a_write_key_like_the_api_key_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "key"
    key.write_text("the-same-key\n")
    assert main(["serve", "--sample", "--api-key-file", str(key), "--write-key-file", str(key)]) == 1
    assert "the write key must differ from the API key" in capsys.readouterr().err


def test_the_demo_opens_the_search_page(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "FASHIONCLIP_CACHE": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "fashionclip.cli.main", "demo", "--serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_up(url, process, seconds=300)
        with urllib.request.urlopen(url + "/", timeout=30) as page:
            assert b"fashionclip" in page.read()
        status, found = _get(url + "/search?q=white%20sports%20shoes&filter=gender=Women&k=4")
        assert status == 200
        assert [r["metadata"]["gender"] for r in found["results"]] == ["Women"] * 4
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) in (0, -signal.SIGTERM)
        assert "Zero-shot classification" in process.stdout.read()  # type: ignore[union-attr]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_search_asks_a_running_server_of_its_index_and_imports_nothing_heavy(tmp_path, monkeypatch):
    """The same answer as a search here, with neither torch, transformers nor LanceDB imported."""
    from fashionclip.cli.remote import registered
    from fashionclip.sample import sample_catalog
    from fashionclip.search import Catalog
    from fashionclip.server import ServerConfig, create_app
    from fashionclip.server.background import BackgroundServer

    cache = tmp_path / "cache"
    monkeypatch.setenv("FASHIONCLIP_CACHE", str(cache))
    db = tmp_path / "shop.lance"
    catalog = Catalog.open(db, backend="torch", precision="fp32")
    catalog.index(sample_catalog()[0] / "catalog.csv")
    expected = [h.id for h in catalog.search("red dress", where="gender=Women", k=5)]
    query = ["search", "--db", str(db), "red dress", "--where", "gender=Women", "-k", "5", "--json"]
    script = (
        f"import json, sys; from fashionclip.cli.main import main; code = main({query!r}); "
        "print(json.dumps({'code': code, 'heavy': [m for m in ('torch', 'lancedb', 'transformers') "
        "if m in sys.modules]}))"
    )
    env = {**os.environ, "FASHIONCLIP_CACHE": str(cache)}

    def cli(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *command], capture_output=True, text=True, env=env, timeout=300)

    app = create_app(catalog, ServerConfig())
    with BackgroundServer(app) as server, registered(str(db), server.url, catalog.encoder.name):
        done = cli("-c", script)
        bad = cli("-m", "fashionclip.cli.main", "search", "--db", str(db), "red", "--where", "colour=x")
    lines = done.stdout.strip().splitlines()
    assert json.loads(lines[-1]) == {"code": 0, "heavy": []}, done.stderr
    assert [json.loads(line)["id"] for line in lines[:-1]] == expected
    assert bad.returncode == 1 and "unknown column 'colour'" in bad.stderr  # the server's answer, one line
    # the server is gone (its record too): the search runs here, with the same answer
    here = cli("-c", script)
    lines = here.stdout.strip().splitlines()
    assert json.loads(lines[-1])["code"] == 0 and "torch" in json.loads(lines[-1])["heavy"]
    assert [json.loads(line)["id"] for line in lines[:-1]] == expected
