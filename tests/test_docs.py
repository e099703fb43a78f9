"""Every fenced block of README.md and docs/*.md, run for real, so no command in the docs goes
stale and no placeholder comes back.

A block's language says how it is run:

- ``console``: ``$ `` lines are commands (a command goes on over the next lines while a quote is
  open or a line ends with ``\\``); the other lines are output, each of which must appear in what
  that command printed (durations, data versions and clock times are masked on both sides). The
  page's console blocks run in order in one ``bash`` (``set -e``: a command that fails fails the
  test), as the demo's user: ``HOME`` is a temporary folder where ``hotspot serve --demo`` built
  the demo (``~/.local/share/hotspot``) as ``make run`` does, ``hotspot`` is ``.venv/bin/hotspot``,
  ``HOTSPOT_DATABASE_URL`` is a new, empty store of the page's own (so a page's loading examples
  show a first load's real report; its analyses name the demo's store with ``--database``), and
  ``hotspot serve --demo`` answers at the docs' ``http://127.0.0.1:8000``. ``make`` commands are
  dry runs (``make -n``: the target exists); ``pytest`` commands are collected only; the PostGIS
  URL of the operators' page names a throw-away database of the test run.
- ``python``: run by the test's Python (``.venv/bin/python``) in the page's folder, with the same environment.
- ``toml``, ``csv``, ``json``: parsed; a block with ``title="name"`` is also written, where it
  stands among the page's commands, to the folder they are in, for the commands that read it.
- ``text``: shown, never run (recorded output, a layout).

Any other language (or none) fails, and so does a placeholder in any block: ``...``, ``…`` or a
line holding only ``X``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench._server import free_port
from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LANGUAGES = {"console", "python", "toml", "csv", "json", "text"}
DOCS_URL = "http://127.0.0.1:8000"
"""Where the docs say ``make run`` serves; the test's own server stands in for it."""
DOCS_POSTGRES_URL = "postgresql://hotspot@db.example.police.uk:5432/hotspot"
"""The PostGIS store the operators' page names; a throw-away database stands in for it."""
PLACEHOLDER = re.compile(r"\.\.\.|…|^\s*X\s*$", re.M)
BIN = ROOT / ".venv" / "bin"


@dataclass
class Block:
    """One fenced block of a page."""

    page: Path
    line: int
    language: str
    title: str | None
    text: str

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line} ({self.language or 'no language'})"


FENCE = re.compile(r"^(\s*)(`{3,})(.*)$")


def fenced_blocks(page: Path) -> list[Block]:
    """The fenced blocks of a Markdown page (indented ones, in lists, too)."""
    found: list[Block] = []
    lines = page.read_text("utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence, info = opening.groups()
        words = info.split(maxsplit=1)
        language = words[0] if words else ""
        title = re.search(r'title="([^"]+)"', info)
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j])
            j += 1
        assert j < len(lines), f"{page.relative_to(ROOT)}:{i + 1}: a block that never closes"
        found.append(Block(page, i + 1, language, title.group(1) if title else None,
                           "\n".join(body) + "\n"))
        i = j + 1
    return found


@dataclass
class Command:
    """A ``$`` command of a console block and the output the docs show for it."""

    block: Block
    text: str
    shown: list[str]


def _complete(command: str) -> bool:
    """Whether a shell command is whole (no open quote, no trailing backslash)."""
    if command.rstrip().endswith("\\"):
        return False
    try:
        shlex.split(command, comments=True)
    except ValueError:
        return False
    return True


def console_commands(block: Block) -> list[Command]:
    """The commands of a console block, each with the output lines shown after it."""
    commands: list[Command] = []
    pending: list[str] | None = None
    for line in block.text.splitlines():
        if pending is not None:
            pending.append(line)
            if _complete("\n".join(pending)):
                commands.append(Command(block, "\n".join(pending), []))
                pending = None
        elif line.startswith("$ "):
            pending = [line[2:]]
            if _complete(line[2:]):
                commands.append(Command(block, line[2:], []))
                pending = None
        elif line.strip():
            assert commands, f"{block}: output before any command: {line!r}"
            commands[-1].shown.append(line.strip())
    assert pending is None, f"{block}: a command that never ends"
    assert commands, f"{block}: a console block with no command"
    return commands


VOLATILE = [
    (re.compile(r"\bin \d+(\.\d+)? s\b"), "in <seconds> s"),
    (re.compile(r"\b[0-9a-f]{8}\.\d+(?:\.[0-9a-f]{8})?\b"), "<data version>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\+00:00|Z)?"), "<time>"),
]


def _masked(text: str) -> str:
    for pattern, mask in VOLATILE:
        text = pattern.sub(mask, text)
    return text


def _for_the_test(command: str, server_url: str, postgres_url: str | None) -> str:
    """A documented command as the test runs it (see the module's docstring)."""
    command = command.replace(DOCS_URL, server_url)
    if postgres_url is not None:
        command = command.replace(DOCS_POSTGRES_URL, postgres_url)
    if command.startswith("make "):
        return f"make -n -C {shlex.quote(str(ROOT))} {command[5:]}"
    command = command.replace(".venv/bin/", f"{BIN}/")  # the repository's environment
    if " -m pytest " in command:
        return f"(cd {shlex.quote(str(ROOT))} && {command} --collect-only -q)"
    return command


@dataclass
class DocsWorld:
    """Where the docs' commands run: the demo user's home, the served demo."""

    home: Path
    server_url: str
    env: dict[str, str]


def _clean_environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HOTSPOT_", "XDG_")) or k == "HOTSPOT_TEST_POSTGRES_URL"}
    env.update(HOME=str(home), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    return env


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocsWorld]:
    """``hotspot serve --demo`` in a fresh home, on a free port, as ``make run`` runs it (it
    builds the demo's store and files on its first start); stopped at the end."""
    if shutil.which("curl") is None:
        pytest.fail("the docs' HTTP examples need curl (apt-get install curl)")
    home = tmp_path_factory.mktemp("home")
    env = _clean_environment(home)
    port = free_port()
    log = home / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(BIN / "hotspot"), "serve", "--demo", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning"], env=env, cwd=home, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"hotspot serve --demo did not start: {log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        yield DocsWorld(home, url, env)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


LIST_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])\s")


def unfenced_code(page: Path) -> list[int]:
    """Lines (1-based) that start code the fenced-block reader would not see: a ``~~~`` fence,
    or an indented code block (four spaces after a blank line, outside a list and a fence)."""
    found: list[int] = []
    in_fence, in_list, previous = False, False, ""
    for number, line in enumerate(page.read_text("utf-8").splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            if line.lstrip().startswith("~~~"):
                found.append(number)
            if LIST_ITEM.match(line):
                in_list = True
            elif line.strip() and not line.startswith(" "):
                in_list = False
            if line.startswith("    ") and not previous.strip() and not in_list:
                found.append(number)
        previous = line
    return found


def test_no_code_hides_outside_a_fenced_block() -> None:
    """Every piece of code in the docs is in a fenced block, where the tests below run it."""
    hidden = [f"{page.relative_to(ROOT)}:{n}" for page in PAGES for n in unfenced_code(page)]
    assert not hidden, f"code outside a fenced block (fence it, with its language): {hidden}"


def test_every_block_has_a_known_language_and_no_placeholder() -> None:
    blocks = [b for page in PAGES for b in fenced_blocks(page)]
    assert len(blocks) > 20
    for block in blocks:
        assert block.language in LANGUAGES, (
            f"{block}: say how the block is run (one of {sorted(LANGUAGES)}; `text` for a "
            "block that is only read)")
        placeholder = PLACEHOLDER.search(block.text)
        assert placeholder is None, f"{block}: a placeholder {placeholder.group(0)!r}"


def _check_data_block(block: Block) -> None:
    if block.language == "toml":
        tomllib.loads(block.text)
    elif block.language == "json":
        json.loads(block.text)
    elif block.language == "csv":
        rows = list(csv.reader(io.StringIO(block.text)))
        assert len(rows) > 1 and len({len(r) for r in rows}) == 1, f"{block}: ragged CSV"


def _run_console(steps: list[Command | Block], folder: Path, world: DocsWorld,
                 postgres_url: str | None) -> None:
    """The page's commands in one bash, in order (a titled block written to the folder the
    commands are in where it appears); each must succeed and print what is shown."""
    script = ["set -e -o pipefail", f"cd {shlex.quote(str(folder))}"]
    commands = [s for s in steps if isinstance(s, Command)]
    number = 0
    for step in steps:
        if isinstance(step, Block):
            assert step.title and "DOCS_EOF" not in step.text
            script.append(f"cat > {shlex.quote(step.title)} <<'DOCS_EOF'\n{step.text}DOCS_EOF")
        else:
            script.append(f"printf '\\n@@docs-command {number}@@\\n'")
            script.append(_for_the_test(step.text, world.server_url, postgres_url))
            number += 1
    env = dict(world.env, HOTSPOT_DATABASE_URL=str(folder / "store.sqlite"))
    done = subprocess.run(["bash", "-c", "\n".join(script)], env=env, cwd=folder, timeout=600,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    parts = re.split(r"\n@@docs-command (\d+)@@\n", "\n" + done.stdout)
    outputs = {int(parts[k]): parts[k + 1] for k in range(1, len(parts) - 1, 2)}
    if done.returncode != 0:
        last = max(outputs, default=0)
        pytest.fail(f"{commands[last].block}: `{commands[last].text}` failed "
                    f"(exit {done.returncode}):\n{outputs.get(last, done.stdout)[-3000:]}")
    for i, c in enumerate(commands):
        printed = _masked(outputs[i])
        for line in c.shown:
            assert _masked(line) in printed, (
                f"{c.block}: `{c.text}` did not print {line!r}; it printed:\n{outputs[i][-3000:]}")


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_the_page_runs(page: Path, world: DocsWorld, tmp_path: Path,
                       request: pytest.FixtureRequest) -> None:
    blocks = fenced_blocks(page)
    postgres_url = (request.getfixturevalue("postgres_url")
                    if DOCS_POSTGRES_URL in page.read_text("utf-8") else None)
    steps: list[Command | Block] = []
    for block in blocks:
        _check_data_block(block)
        if block.language == "console":
            steps += console_commands(block)
        elif block.title:
            steps.append(block)
    if any(isinstance(s, Command) for s in steps):
        _run_console(steps, tmp_path, world, postgres_url)
    for block in blocks:
        if block.language == "python":
            done = subprocess.run([sys.executable, "-c", block.text], cwd=tmp_path,
                                  env=dict(world.env,
                                           HOTSPOT_DATABASE_URL=str(tmp_path / "py.sqlite")),
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, f"{block} failed:\n{done.stderr[-3000:]}"


def test_every_setting_is_in_env_example_and_the_operators_page() -> None:
    from api.settings import Settings

    example = (ROOT / ".env.example").read_text("utf-8")
    operations = (ROOT / "docs" / "operations.md").read_text("utf-8")
    for name in Settings.model_fields:
        variable = f"HOTSPOT_{name.upper()}"
        assert re.search(rf"^(# )?{variable}=", example, re.M), f".env.example lacks {variable}"
        assert f"`{variable}`" in operations, f"docs/operations.md lacks {variable}"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_pages_lead_somewhere() -> None:
    for page in PAGES:
        for target, anchor in re.findall(r"\]\(([^)#:\s]*\.md)?(#[^)\s]*)?\)",
                                         page.read_text("utf-8")):
            linked = page.parent / target if target else page
            where = f"{page.relative_to(ROOT)}: {target}{anchor}"
            assert linked.is_file(), where
            if anchor:
                headings = re.findall(r"^#+ (.*)$", linked.read_text("utf-8"), re.M)
                assert anchor[1:] in {_anchor(h) for h in headings}, where
