"""The README's commands and snippets run as written, offline, with the bundled model.

Every fenced ``python`` and ``bash`` block of README.md is classified in ``PLAN`` below, in
order; a block added, removed or moved fails ``test_every_block_is_classified`` until it is
classified here. The runnable blocks run in one temporary workspace that holds the files the
examples name as the reader's own (``products.csv``, ``mine.jpg``, ``pairs.csv``...), made from
the bundled sample catalogue. Python blocks run as written in a subprocess; bash blocks run line
by line (``\\`` continuations joined, comments dropped), each line expected to exit 0. Lines that
cannot run here (the hub, a Milvus server, placeholders such as ``PATH/TO``) are listed in
``SKIPPED_LINES`` with the reason, and each entry must still match a README line.

The blocks build on each other (the index made by one is searched by the next), so they run in
one test, in README order, and every failure is reported at the end.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from fashionclip.sample import sample_catalog

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LINE_TIMEOUT = 300  # seconds; a hung command fails instead of hanging the suite
SERVER_START_TIMEOUT = 120
CLI = "fashionclip.cli.main"


@dataclass(frozen=True)
class Block:
    index: int
    language: str
    heading: str
    code: str


@dataclass(frozen=True)
class Plan:
    """How the test treats one README block.

    ``starts``: the first code line, so a moved or replaced block is noticed.
    ``run``: "python", "bash", "data" (read by the test, not run) or "skip".
    ``after``: a python block that continues another (its names come from that block).
    ``keep_servers``: servers started by this block stay up for the next one.
    """

    language: str
    starts: str
    run: str
    reason: str = ""
    after: int | None = None
    keep_servers: bool = False


PLAN: list[Plan] = [
    Plan(
        "bash",
        "bash scripts/demo.sh",
        "skip",
        "installs into .venv from PyPI, then runs the whole suite (this test too)",
    ),
    Plan("python", "import fashionclip", "python"),
    Plan("python", "paths = ", "python", after=1),
    Plan("bash", "fashionclip models", "bash"),
    Plan("bash", "fashionclip index products.csv --db shop.lance --model", "bash"),
    Plan("python", "from fashionclip.search import Catalog", "python"),
    Plan("bash", "fashionclip index prices.csv --db shop.lance --partial", "bash"),
    Plan("python", "from fashionclip import ZeroShotClassifier", "python"),
    Plan("bash", "fashionclip classify products.csv", "bash"),
    Plan("yaml", "templates: fashion", "data", "written to taxonomy.yaml for the classify --taxonomy line"),
    Plan("bash", "fashionclip classify --db shop.lance", "bash"),
    Plan("bash", "fashionclip navigate 1163", "bash"),
    Plan("python", "from fashionclip.compat import", "python"),
    Plan("bash", "fashionclip explain outfit.jpg", "bash"),
    Plan("python", "from fashionclip import load_model", "python"),
    Plan("bash", "fashionclip serve --db shop.lance --host", "bash", keep_servers=True),
    Plan("bash", "curl -s 'http://127.0.0.1:8000/search", "bash"),
    Plan("bash", "# embed with Ray Data", "bash"),
    Plan("bash", "fashionclip eval --models fashion-clip-mini --data", "bash"),
    Plan("bash", "# an EasyNLP checkpoint", "skip", "downloads from EasyNLP's model zoo (network)"),
    Plan("bash", "# your own catalogue", "bash"),
    Plan("python", "from fashionclip.training import", "python"),
    Plan("bash", "python3 -m venv .venv", "skip", "creates a virtual environment and installs from PyPI (network)"),
]

# a README line (after joining continuations) containing the key is not run, for the reason given
SKIPPED_LINES: dict[str, str] = {
    "milvus://127.0.0.1:19530/shop": "needs a Milvus server (docs/milvus/docker-compose.yml starts one)",
    "PATH/TO/kagl": "PATH/TO: the benchmark datasets, wherever the reader downloaded them (not in a clone)",
}


def readme_blocks() -> list[Block]:
    """The fenced blocks of README.md with their language and the heading above them."""
    blocks: list[Block] = []
    heading = ""
    fence = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
    text = README.read_text(encoding="utf-8")
    position = 0
    for match in fence.finditer(text):
        for line in text[position : match.start()].splitlines():
            if line.startswith("#"):
                heading = line.lstrip("#").strip()
        position = match.end()
        blocks.append(Block(len(blocks), match.group(1), heading, match.group(2)))
    return blocks


def bash_lines(code: str) -> list[str]:
    """The block's commands: ``\\`` continuations joined, blank and comment-only lines dropped."""
    lines: list[str] = []
    pending = ""
    for raw in code.splitlines():
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line = (pending + raw).strip()
        pending = ""
        if line and shlex.split(line, comments=True):
            lines.append(line)
    return lines


# --- the reader's own files, made from the bundled sample catalogue ---------------------------


def make_workspace(workspace: Path, blocks: list[Block]) -> None:
    """Write every file the examples name as the reader's own."""
    root, rows = sample_catalog()
    photos = [root / row["image"] for row in rows]
    columns = [c for c in rows[0] if c != "image"]
    with (workspace / "products.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*columns, "image", "price"])
        for row, photo in zip(rows, photos, strict=True):
            # the sample has no prices; a made-up deterministic one lets the price filters select something
            price = 10 + int(row["id"]) * 37 % 140
            writer.writerow([*(row[c] for c in columns), str(photo), price])
    # a partial feed for "Keeping the index live": new prices of two products, keyed by id
    (workspace / "prices.csv").write_text("id,price\n1163,19.5\n1164,42\n", encoding="utf-8")
    for name, row in zip(("mine.jpg", "a.jpg", "b.jpg", "outfit.jpg"), rows[80:108:7], strict=True):
        shutil.copyfile(root / row["image"], workspace / name)
    (workspace / "photos").mkdir()
    for photo in photos[::10]:
        shutil.copyfile(photo, workspace / "photos" / photo.name)
    (workspace / "queries.txt").write_text("light red midi dress\nnavy blue shirt\nblack leather handbag\n")
    # training pairs: every product twice (its title, and its colour and type), so that the default
    # batch of 128 fits in the training split, as in the "few hundred rows" the README asks for
    with (workspace / "pairs.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "image", "caption", "category"])
        for row in rows:
            for n, caption in enumerate((row["title"], f"{row['baseColour']} {row['articleType']}")):
                writer.writerow([f"{row['id']}-{n}", str(root / row["image"]), caption, row["articleType"]])
    # Kaggle's styles.csv layout, its photos in images/{id}.jpg beside it; each product twice under
    # two ids, for the same reason
    (workspace / "images").mkdir()
    with (workspace / "styles.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "gender", "articleType", "baseColour", "productDisplayName"])
        for row in rows:
            for item in (row["id"], f"9{row['id']}"):
                writer.writerow([item, row["gender"], row["articleType"], row["baseColour"], row["title"]])
                shutil.copyfile(root / row["image"], workspace / "images" / f"{item}.jpg")
    shutil.copyfile(photos[0], workspace / "images" / "1.jpg")  # the compat example's one-product dataset
    (taxonomy,) = [b for b, p in zip(blocks, PLAN, strict=True) if p.run == "data"]
    (workspace / "taxonomy.yaml").write_text(taxonomy.code, encoding="utf-8")
    # the eval example names the sample catalogue by its path in a clone
    (workspace / "src").symlink_to(ROOT / "src", target_is_directory=True)


# --- running ---------------------------------------------------------------------------------

# Every command and snippet runs in a process of its own, forked from this one after the imports
# they all share (torch and transformers: about 5 s of each command's start on 2 busy cores, and
# 40 commands). Only imports that start no thread a fork would lose are made here (lancedb's
# event loop thread is one, so it is not imported). FASHIONCLIP_README_SPAWN=1 runs each in a
# fresh interpreter instead.
ZYGOTE = r"""
import json, os, signal, sys, time, traceback

import numpy, PIL.Image, torch, transformers
from transformers import CLIPModel
import fashionclip.cli.main, fashionclip.loading

def child(request):
    for fd, path, flags in ((0, os.devnull, os.O_RDONLY), (1, request["stdout"], os.O_WRONLY | os.O_CREAT),
                            (2, request["stderr"], os.O_WRONLY | os.O_CREAT)):
        os.dup2(os.open(path, flags, 0o644), fd)
    sys.argv = request["argv"][2:] if request["code"] is None else ["-"]  # as `python -m` and `python -` set it
    try:
        if request["code"] is None:
            status = fashionclip.cli.main.main(sys.argv[1:])
        else:
            exec(compile(request["code"], "<stdin>", "exec"), {"__name__": "__main__"})
            status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, (int, type(None))):
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        child(request)
    deadline = time.monotonic() + request["timeout"]
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            answer = {"status": os.waitstatus_to_exitcode(status)}
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            answer = {"timeout": True}
            break
        time.sleep(0.02)
    print(json.dumps(answer), flush=True)
"""


class Zygote:
    """A Python process that has made the shared imports and forks a child per command."""

    def __init__(self, workspace: Path, env: dict[str, str]) -> None:
        self.workspace = workspace
        self.process = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            cwd=workspace,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.count = 0

    def run(self, argv: list[str], code: str | None, timeout: float) -> subprocess.CompletedProcess:
        self.count += 1
        out, err = self.workspace.parent / f"out-{self.count}.txt", self.workspace.parent / f"err-{self.count}.txt"
        request = {"argv": argv, "code": code, "stdout": str(out), "stderr": str(err), "timeout": timeout}
        self.process.stdin.write(json.dumps(request) + "\n")
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the forking process died (exit {self.process.wait()})")
        answer = json.loads(line)
        if answer.get("timeout"):
            raise subprocess.TimeoutExpired(argv, timeout)
        return subprocess.CompletedProcess(
            argv, answer["status"], out.read_text(errors="replace"), err.read_text(errors="replace")
        )

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Runner:
    """Runs README lines in the workspace and collects what failed."""

    def __init__(self, workspace: Path, env: dict[str, str], zygote: Zygote | None) -> None:
        self.workspace = workspace
        self.env = env
        self.zygote = zygote
        self.failures: list[str] = []
        self.ran: list[str] = []
        self.servers: list[tuple[subprocess.Popen, int, int, str]] = []  # process, README port, port, line

    def argv(self, line: str) -> list[str]:
        words = shlex.split(line, comments=True)
        if words[0] == "fashionclip":  # the worktree's code, not whatever `fashionclip` is on PATH
            return [sys.executable, "-m", CLI, *words[1:]]
        if words[0] == "python":
            return [sys.executable, *words[1:]]
        return words

    def check(self, where: str, argv: list[str], code: str | None = None) -> str:
        """Run a command (or, with ``code``, a Python snippet) and record a non-zero exit."""
        started = time.monotonic()
        try:
            # Ray starts its own cluster processes, which fail now and then from a forked child of a
            # process that has started torch's threads ("dashboard return code -6"): a fresh one
            forkable = "ray" not in argv
            if self.zygote is not None and forkable and (code is not None or argv[:3] == [sys.executable, "-m", CLI]):
                done = self.zygote.run(argv, code, LINE_TIMEOUT)
            else:
                done = subprocess.run(
                    argv,
                    cwd=self.workspace,
                    env=self.env,
                    input=code,
                    capture_output=True,
                    text=True,
                    timeout=LINE_TIMEOUT,
                )
        except subprocess.TimeoutExpired:
            self.failures.append(f"{where}: still running after {LINE_TIMEOUT} s")
            return ""
        except FileNotFoundError:
            self.failures.append(f"{where}: {argv[0]!r} is not installed")
            return ""
        self.ran.append(f"{time.monotonic() - started:6.1f} s  {where}")
        print(self.ran[-1], flush=True)
        if done.returncode != 0:
            self.failures.append(f"{where}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def python(self, where: str, code: str) -> None:
        self.check(where, [sys.executable, "-"], code=code)

    def bash(self, where: str, line: str) -> None:
        words = shlex.split(line, comments=True)
        if words[:2] == ["fashionclip", "serve"]:
            self.serve(where, line)
        elif words[0] == "curl":
            self.curl(where, line)
        else:
            self.check(where, self.argv(line))

    def serve(self, where: str, line: str) -> None:
        """Start the server in the background on a free port and wait until it answers."""
        argv = self.argv(line)
        readme_port = int(argv[argv.index("--port") + 1]) if "--port" in argv else 8000
        port = free_port()
        if "--port" in argv:
            argv[argv.index("--port") + 1] = str(port)
        else:
            argv += ["--port", str(port)]
        log = self.workspace.parent / f"server-{port}.log"
        with log.open("w") as output:  # a file, not a pipe nobody reads, which a chatty server would fill
            process = subprocess.Popen(argv, cwd=self.workspace, env=self.env, stdout=output, stderr=subprocess.STDOUT)
        started = time.monotonic()
        while time.monotonic() - started < SERVER_START_TIMEOUT:
            if process.poll() is not None:
                self.failures.append(f"{where}: exited with {process.returncode}\n{log.read_text()[-3000:]}")
                return
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                    if answer.status == 200:
                        self.servers.append((process, readme_port, port, where))
                        self.ran.append(f"{time.monotonic() - started:6.1f} s  {where} (up, in the background)")
                        print(self.ran[-1], flush=True)
                        return
            except OSError:
                time.sleep(0.5)
        process.kill()
        self.failures.append(f"{where}: no answer on /health after {SERVER_START_TIMEOUT} s")

    def curl(self, where: str, line: str) -> None:
        """Run curl against the first server started for the README's port; expect JSON with results."""
        ports = {readme: port for _, readme, port, _ in reversed(self.servers)}
        match = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not match or int(match.group(1)) not in ports:
            self.failures.append(f"{where}: no server is running for this URL")
            return
        line = line.replace(match.group(0), f"127.0.0.1:{ports[int(match.group(1))]}")
        # --fail-with-body: an HTTP error status is curl's exit 22 instead of 0
        out = self.check(where, [*self.argv(line), "--fail-with-body"])
        if out and '"results"' not in out:
            self.failures.append(f"{where}: answer without results: {out[:500]}")

    def stop_servers(self) -> None:
        for process, *_ in self.servers:
            process.terminate()
        for process, *_, where in self.servers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                self.failures.append(f"{where}: did not stop within 30 s of SIGTERM")
        self.servers.clear()


def test_every_block_is_classified() -> None:
    blocks = readme_blocks()
    described = [f"{b.index}: {b.language} under {b.heading!r}: {b.code.splitlines()[0]!r}" for b in blocks]
    assert len(blocks) == len(PLAN), "README.md's blocks changed; classify them in PLAN:\n" + "\n".join(described)
    for block, plan in zip(blocks, PLAN, strict=True):
        assert (block.language, block.code.lstrip().startswith(plan.starts)) == (plan.language, True), (
            f"README block {described[block.index]} is not the one PLAN expects: {plan}"
        )
        assert plan.run in {"python", "bash", "data", "skip"}
        assert plan.run != "skip" or plan.reason, f"block {block.index} is skipped without a reason"


def test_every_skipped_line_is_in_the_readme() -> None:
    lines = [line for block in readme_blocks() if block.language == "bash" for line in bash_lines(block.code)]
    for key in SKIPPED_LINES:
        assert sum(key in line for line in lines) == 1, f"SKIPPED_LINES key {key!r} must match one README line"


def test_readme_runs_offline(tmp_path: Path) -> None:
    blocks = readme_blocks()
    if len(blocks) != len(PLAN):
        pytest.fail("README.md's blocks changed; see test_every_block_is_classified")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    make_workspace(workspace, blocks)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "HF_HOME": str(tmp_path / "hf-home"),  # an empty hub cache: anything that needs the hub fails
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "FASHIONCLIP_CACHE": str(tmp_path / "fashionclip-cache"),
        "MPLBACKEND": "Agg",
    }
    env.pop("HF_HUB_CACHE", None)
    env.pop("FASHIONCLIP_API_KEY", None)
    zygote = None if os.environ.get("FASHIONCLIP_README_SPAWN") == "1" else Zygote(workspace, env)
    runner = Runner(workspace, env, zygote)
    started = time.monotonic()
    try:
        for block, plan in zip(blocks, PLAN, strict=True):
            where = f"README block {block.index} ({block.heading})"
            if plan.run == "python":
                code = block.code if plan.after is None else blocks[plan.after].code + "\n" + block.code
                runner.python(where, code)
            elif plan.run == "bash":
                for line in bash_lines(block.code):
                    if not any(key in line for key in SKIPPED_LINES):
                        runner.bash(f"{where}: {line}", line)
            if not plan.keep_servers:
                runner.stop_servers()
    finally:
        runner.stop_servers()
        if zygote is not None:
            zygote.close()
    timings = "\n".join(runner.ran) + f"\n{time.monotonic() - started:6.1f} s  in all"
    print(timings)
    assert not runner.failures, "\n\n".join(runner.failures) + "\n\ntimings:\n" + timings


def test_the_readme_counts_the_bad_inputs_the_tests_send() -> None:
    from tests.server.test_bad_filters import WHERE_CASES
    from tests.server.test_bad_inputs import CASES

    text = " ".join(README.read_text().split())
    assert f"the tests send {len(CASES) + len(WHERE_CASES)} of them" in text
