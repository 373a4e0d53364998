"""README.md examples run as written: every ```python block, and every ``python -m search.run``
line of its ```bash blocks.

Each example runs in a fresh Python process, as a user would run it, inside a temporary copy of
the repository layout: the working directory is ``<tmp>/repo``, and ``<tmp>/shared`` links to the
real ``../shared`` when it exists, so relative paths such as ``../shared/data/...`` and output
folders such as ``runs/demo`` behave as in a checkout without writing into it. A ``--resume`` line
runs in the folder of the command line before it, after it. Two examples run at a time (started
together when the first example test runs); each test reports its own example.

Markers, an HTML comment on the line before a fenced block:

- ``<!-- needs: shared-data -->``: the block reads ``../shared/data``; skipped on a fresh clone,
  a failure when ``CI`` is set (as ``shared_file`` in ``tests/conftest.py``).
- ``<!-- test: skip (reason) -->``: not run (too long for the test suite); the reason is shown.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHARED = ROOT.parent / "shared"
TIMEOUT = 240  # seconds per example
WORKERS = 2  # examples run at once (each is one mostly single-threaded process)

_FENCE = re.compile(r"^```(\w*)\s*$")
_MARKER = re.compile(r"^<!--\s*(needs:\s*shared-data|test:\s*skip.*?)\s*-->$")


@dataclass(frozen=True)
class Example:
    """One runnable README example: Python source, or one shell command line."""

    line: int  # 1-based line of README.md where it starts
    kind: str  # "python" or "shell"
    code: str  # Python source, or shell command lines run one after the other
    marker: str | None

    @property
    def id(self) -> str:
        return f"{self.kind}-line{self.line}"


def parse_blocks(text: str) -> list[tuple[int, str, str, str | None]]:
    """Fenced blocks of a Markdown text: ``(first code line, language, code, marker)``.

    ``marker`` is the HTML comment on the last non-blank line before the opening fence, if any.
    """
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        mk = _MARKER.match(lines[j].strip()) if j >= 0 else None
        end = i + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        if end == len(lines):
            raise ValueError(f"README.md line {i + 1}: a code block is never closed.")
        blocks.append((i + 2, m.group(1), "\n".join(lines[i + 1 : end]) + "\n",
                       mk.group(1) if mk else None))
        i = end + 1
    return blocks


def shell_commands(code: str) -> list[tuple[int, str]]:
    """The ``python -m search.run`` commands of a shell block (continuation lines joined,
    comments dropped), with their line offset in the block."""
    out, pending, start = [], "", 0
    for k, raw in enumerate(code.splitlines()):
        if not pending:
            start = k
        line = raw.rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        cmd = pending + line
        pending = ""
        argv = shlex.split(cmd, comments=True)
        if argv[:3] == ["python", "-m", "search.run"]:
            out.append((start, cmd))
    return out


def collect(text: str) -> list[Example]:
    """Every runnable example of a README text, in order."""
    examples = []
    for line, lang, code, marker in parse_blocks(text):
        if lang == "python":
            examples.append(Example(line, "python", code, marker))
        elif lang in ("bash", "sh", "shell"):
            previous = None
            for offset, cmd in shell_commands(code):
                if previous is not None and "--resume" in shlex.split(cmd, comments=True):
                    examples[-1] = Example(previous.line, "shell", previous.code + "\n" + cmd,
                                           marker)  # resume continues the run before it
                else:
                    examples.append(Example(line + offset, "shell", cmd, marker))
                previous = examples[-1]
    return examples


EXAMPLES = collect(README.read_text(encoding="utf-8"))


def _needs_shared(ex: Example) -> bool:
    return ex.marker is not None and ex.marker.startswith("needs")


def _skipped(ex: Example) -> bool:
    return ex.marker is not None and ex.marker.startswith("test")


def _commands(ex: Example) -> list[list[str]]:
    if ex.kind == "python":
        return [[sys.executable, "-c", ex.code]]
    return [[sys.executable, *shlex.split(cmd, comments=True)[1:]] for cmd in ex.code.splitlines()]


def _runnable(ex: Example) -> bool:
    return not _skipped(ex) and (SHARED.exists() or not _needs_shared(ex))


def run_example(ex: Example, tmp: Path) -> str | None:
    """Run one example in ``tmp``; ``None`` when it succeeds, else what went wrong."""
    tmp.mkdir(parents=True)
    if SHARED.exists():
        (tmp / "shared").symlink_to(SHARED, target_is_directory=True)
    work = tmp / "repo"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    for argv in _commands(ex):
        try:
            proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True,
                                  timeout=TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            return f"README.md line {ex.line} ran over {TIMEOUT} s:\n{exc.stdout or ''}"
        if proc.returncode != 0:
            return (
                f"README.md line {ex.line} ({ex.kind}) failed with exit code {proc.returncode}:\n"
                f"{ex.code}\n--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n"
                f"{proc.stderr[-5000:]}"
            )
    return None


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Future]:
    """Every runnable example, submitted at once to a pool of :data:`WORKERS` threads."""
    base = tmp_path_factory.mktemp("readme")
    with ThreadPoolExecutor(WORKERS) as pool:
        yield {ex.id: pool.submit(run_example, ex, base / ex.id)
               for ex in EXAMPLES if _runnable(ex)}


def test_readme_has_examples() -> None:
    kinds = {ex.kind for ex in EXAMPLES}
    assert kinds == {"python", "shell"}, f"README examples found: {EXAMPLES}"
    assert sum(not _skipped(ex) and not _needs_shared(ex) for ex in EXAMPLES) >= 8


def test_parser_reads_markers_and_commands() -> None:
    text = (
        "<!-- needs: shared-data -->\n```python\nprint(1)\n```\n\n"  # lines 1-5
        "<!-- test: skip (slow) -->\n```bash\npython -m search.run \\\n    --budget 5  # c\n```\n"
        "```bash\nmake run\npython -m search.run --quiet\npython -m search.run --quiet --resume\n"
        "```\n"
    )
    got = collect(text)
    assert [(e.kind, e.line, e.marker) for e in got] == [
        ("python", 3, "needs: shared-data"),
        ("shell", 8, "test: skip (slow)"),
        ("shell", 13, None),
    ]
    assert shlex.split(got[1].code, comments=True) == [
        "python", "-m", "search.run", "--budget", "5"
    ]
    assert got[2].code.splitlines() == [
        "python -m search.run --quiet", "python -m search.run --quiet --resume"
    ]
    with pytest.raises(ValueError, match="never closed"):
        parse_blocks("```python\nprint(1)\n")


def test_a_failing_example_is_reported(tmp_path: Path) -> None:
    ok = Example(3, "python", "print('fine')\n", None)
    bad = Example(7, "python", "import sys\nsys.exit('broken example')\n", None)
    assert run_example(ok, tmp_path / "ok") is None
    failure = run_example(bad, tmp_path / "bad")
    assert failure is not None
    assert "README.md line 7" in failure and "exit code 1" in failure
    assert "broken example" in failure


@pytest.mark.parametrize("ex", EXAMPLES, ids=[ex.id for ex in EXAMPLES])
def test_readme_example(ex: Example, outcomes: dict[str, Future]) -> None:
    if _skipped(ex):
        pytest.skip(f"README.md line {ex.line}: {ex.marker}")
    if _needs_shared(ex) and not SHARED.exists():
        msg = f"README.md line {ex.line} needs {SHARED}, which is absent"
        if os.environ.get("CI"):
            pytest.fail(msg + " (CI is set, where it must exist)")
        pytest.skip(msg)
    failure = outcomes[ex.id].result()
    if failure is not None:
        pytest.fail(failure, pytrace=False)
