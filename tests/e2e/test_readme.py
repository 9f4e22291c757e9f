"""The README runs: its ```sh and ```python blocks, in order, in one bash session, against a live
`pixelpress serve` on the embedded default (what `make run` starts), so its examples cannot rot.

How the blocks run, and what differs from a reader pasting them into a shell in the checkout:
- one `bash` with `set -euo pipefail`: a command that fails fails the block (a reader's shell
  goes on);
- `curl` is `curl --fail-with-body`, so an HTTP error fails the block too;
- the working directory is a scratch folder whose `.venv` is the virtual environment running the
  tests, and `make` is the checkout's Makefile (`make -C <checkout> VENV=<that environment>`);
- `PIXELPRESS_URL` points the README's `BASE` at the test's server, and `PIXELPRESS_DATA_DIR` at
  its data directory (for `make admin`); `XDG_CONFIG_HOME` keeps the command line's config here;
- ```python blocks run with `.venv/bin/python`, fed on standard input.

Skipped on purpose: ```sh blocks with a line that starts a long-running process or needs what
our machines lack (`make run`, `make test`, `pixelpress serve`, `pixelpress worker`, `docker`),
and blocks fenced as anything but sh or python (```text marks commands shown but not run, such
as a webhook needing DNS). The test checks which blocks were skipped, so the rule cannot
quietly skip everything."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import pyvips

from tests.e2e.processes import environment, serve

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
LONG_RUNNING = re.compile(
    r"^\s*(make run|make test|pixelpress serve|pixelpress worker|docker)\b", re.MULTILINE
)
EXPECTED_SKIPS = {"make run", "export PIXELPRESS_DATABASE_URL", "docker build", "pixelpress serve"}
PY_END = "PIXELPRESS_README_PYTHON_BLOCK"


def blocks() -> tuple[list[tuple[str, str]], list[str]]:
    """(the blocks to run, as (language, text)), and the first lines of those skipped."""
    run: list[tuple[str, str]] = []
    skipped: list[str] = []
    for language, text in FENCE.findall((ROOT / "README.md").read_text()):
        if language == "sh" and LONG_RUNNING.search(text):
            skipped.append(text.splitlines()[0])
        elif language in ("sh", "python"):
            run.append((language, text))
    return run, skipped


def script(run: list[tuple[str, str]]) -> str:
    lines = [
        "set -euo pipefail",
        f'make() {{ command make -C "{ROOT}" --no-print-directory VENV="{sys.prefix}" "$@"; }}',
        'curl() { command curl --fail-with-body "$@"; }',
    ]
    for number, (language, text) in enumerate(run, 1):
        lines.append(f"echo '@@ block {number} starts'")
        if language == "python":
            assert PY_END not in text
            lines += [f".venv/bin/python - <<'{PY_END}'", text.rstrip("\n"), PY_END]
        else:
            lines.append(text)
        lines.append(f"echo; echo '@@ block {number} ok'")
    return "\n".join(lines) + "\n"


@pytest.fixture
def walk(tmp_path: Path) -> Iterator[tuple[Path, str, Path]]:
    data = tmp_path / "var"
    process, base = serve(environment(data_dir=str(data)), tmp_path, name="readme")
    scratch = tmp_path / "walk"
    scratch.mkdir()
    (scratch / ".venv").symlink_to(sys.prefix)
    try:
        yield scratch, base, data
    finally:
        process.stop()


def test_the_readme_runs_top_to_bottom(walk: tuple[Path, str, Path], tmp_path: Path) -> None:
    scratch, base, data = walk
    run, skipped = blocks()
    assert {next(s for s in EXPECTED_SKIPS if line.startswith(s)) for line in skipped} == (
        EXPECTED_SKIPS
    ), skipped
    assert len(skipped) == len(EXPECTED_SKIPS)
    assert sum(1 for language, _ in run if language == "sh") >= 6
    assert sum(1 for language, _ in run if language == "python") >= 3

    env = environment(url=base, data_dir=str(data))
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    done = subprocess.run(
        ["bash", "-c", script(run)],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    finished = set(re.findall(r"^@@ block (\d+) ok$", done.stdout, re.MULTILINE))
    failing = next((n for n in range(1, len(run) + 1) if str(n) not in finished), None)
    assert done.returncode == 0 and failing is None, (
        f"README block {failing} failed:\n{run[(failing or 1) - 1][1]}\n"
        f"--- output ---\n{done.stdout[-3000:]}\n--- errors ---\n{done.stderr[-3000:]}"
    )

    # What the blocks say they made, they made.
    made = {p.name for p in scratch.iterdir()}
    assert {"photo.jpg", "new.jpg", "out.webp", "signed.jpg", "small.jpg"} <= made
    assert {"photo-800.webp", "one-800.webp"} <= made
    assert pyvips.Image.new_from_file(str(scratch / "out.webp")).width == 300
    assert pyvips.Image.new_from_file(str(scratch / "signed.jpg")).width == 400
    assert pyvips.Image.new_from_file(str(scratch / "photo-800.webp")).width == 800
    assert "Admin root created" in done.stdout
    assert "2 of 2 uploaded." in done.stdout
    assert '"message":"Logout successful."' in done.stdout
