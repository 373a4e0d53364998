"""The asynchronous search loop: keep every worker busy, record each answer as it arrives.

:func:`run_async_search` asks the algorithm for as many cells as there are idle workers
(``propose(n, pending=...)``: never a cell in flight or done), hands them to an evaluator through
an executor, and records each answer in ``history.jsonl`` in completion order with the seconds
since the start when it arrived. Before a cell is handed out, a line in ``submitted.jsonl`` says
which cell it is and how many answers had been observed then. Both files are appended and
flushed line by line, so a run killed at any moment (SIGKILL included) is resumed exactly: the
algorithm is replayed through the same sequence of proposals and observations, and the cells
that were in flight are submitted again (not proposed again). An answer found in the run
folder's :class:`~search.evaluators.EvaluationCache` (an equivalent cell trained with the same
seed by an earlier run) is recorded without training.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from search._jsonl import read_records
from search.algorithms import ReplayMismatch, SearchAlgorithm
from search.domain import Domain
from search.engine import SearchResult
from search.evaluators import Evaluation, EvaluationCache, Evaluator
from search.history import HistoryError, HistoryWriter, Record, read_history

logger = logging.getLogger(__name__)

SUBMITTED_NAME = "submitted.jsonl"
HISTORY_NAME = "history.jsonl"


def evaluate_task(evaluator: Evaluator, arch: Hashable, seed: int) -> Evaluation:
    """One evaluation, as a task of an executor (a module-level function, so it pickles)."""
    return evaluator.evaluate(arch, seed)


def read_submitted(path: Path, *, repair: bool = True) -> list[tuple[str, int]]:
    """The ``(arch string, answers observed before)`` lines of ``submitted.jsonl``, oldest
    first; a partially written or unreadable last line is dropped and, with ``repair`` (off
    for a reader watching a running search), truncated away.

    Raises:
        HistoryError: If a line other than the last is not a valid submission.
    """

    def parse(line: bytes, n: int) -> tuple[str, int] | None:
        try:
            d = json.loads(line)
            return str(d["arch"]), int(d["after"])
        except (ValueError, KeyError, TypeError):
            return None

    def corrupt(number: int, line: bytes) -> HistoryError:
        return HistoryError(f"{path}: line {number} is not a valid submission ({line[:80]!r}); "
                            "delete the run folder to start again.")

    return read_records(path, parse, corrupt, repair=repair)


def run_async_search(
    algorithm: SearchAlgorithm,
    domain: Domain,
    evaluator: Evaluator,
    executor: Any,
    budget: int,
    seed: int = 0,
    *,
    folder: str | Path,
    cache: EvaluationCache | None = None,
    resume: bool = False,
    report_metrics: Sequence[str] = (),
    eval_seed: int | None = None,
    device: str = "auto",
    progress: Callable[[int], Any] | None = None,
) -> SearchResult:
    """Run one search with up to ``executor.workers`` evaluations in flight.

    Args:
        algorithm: The search algorithm (set up here).
        domain: The cells that may be proposed.
        evaluator: Evaluates one cell (shipped to the executor's workers).
        executor: An :class:`~search.executors.InProcessExecutor` or
            :class:`~search.executors.RayExecutor`.
        budget: Evaluations of the run (no cell is evaluated twice).
        seed: The run's seed (the algorithm's, and by default every evaluation's).
        folder: The run's folder (``history.jsonl``, ``submitted.jsonl``).
        cache: Finished evaluations shared by the runs of one output folder.
        resume: Continue the run in ``folder`` instead of requiring it to be empty.
        report_metrics: Evaluation metrics to keep in the result (e.g. ``test_accuracy``).
        eval_seed: The seed of every evaluation instead of ``seed``: runs with different seeds
            then give a cell one value and share its cached evaluation.
        device: Torch device of the algorithm's own models.
        progress: Called with 1 after every recorded answer.

    Returns:
        The :class:`~search.engine.SearchResult`, in completion order.

    Raises:
        ValueError: If the folder holds a run without ``resume``, or a run that cannot be
            resumed (corrupt, longer than ``budget``, or not what this algorithm proposes).
    """
    folder = Path(folder)
    eval_seed = int(seed if eval_seed is None else eval_seed)
    hist, subs_path = folder / HISTORY_NAME, folder / SUBMITTED_NAME
    records = read_history(hist)
    submitted = read_submitted(subs_path)
    if (records or submitted) and not resume:
        raise ValueError(f"{folder} already holds a run; resume it or use another folder.")
    if len(submitted) > budget:
        raise ValueError(f"{subs_path} holds {len(submitted)} submissions, more than the "
                         f"budget {budget}.")
    space = domain.space
    algorithm.setup(domain, seed, budget, device=device)
    pending = _replay(algorithm, domain, records, submitted, folder)
    archs = list(algorithm.archs)
    values = list(algorithm.values)
    times = [r.time for r in records]
    extra = {m: [r.extra.get(m, math.nan) for r in records] for m in report_metrics}
    folder.mkdir(parents=True, exist_ok=True)
    handle = executor.put(evaluator)
    running: dict[int, Hashable] = {}
    offset, t0 = (times[-1] if times else 0.0), time.perf_counter()
    n_submitted = len(submitted)
    with HistoryWriter(hist) as writer, open(subs_path, "a", encoding="utf-8") as subs:
        def record(arch: Hashable, ev: Evaluation) -> None:
            t = round(offset + time.perf_counter() - t0, 4)
            value = math.nan if ev.failed else float(ev.value)
            error = (ev.error or f"non-finite value {ev.value!r}") if ev.failed else None
            if error is not None:
                logger.warning("%s seed %d: %s failed: %s", algorithm.name, seed,
                               space.to_string(arch), error)
            metrics = {**ev.metrics, "seconds": float(ev.cost)}
            writer.append(Record(len(archs), space.to_string(arch), value, t, metrics,
                                 failed=error is not None, error=error))
            if cache is not None and error is None:
                cache.put(domain.key(arch), eval_seed, ev)
            algorithm.observe(arch, value)
            archs.append(arch)
            values.append(value)
            times.append(t)
            for m in report_metrics:
                extra[m].append(metrics.get(m, math.nan))
            if progress is not None:
                progress(1)

        def launch(arch: Hashable) -> None:
            hit = cache.get(domain.key(arch), eval_seed) if cache is not None else None
            if hit is not None:
                record(arch, hit)
            else:
                running[executor.submit(evaluate_task, handle, arch, eval_seed)] = arch

        for arch in pending:  # in flight when the run stopped: submitted again
            launch(arch)
        while len(archs) < budget:
            room = min(executor.workers - len(running), budget - n_submitted)
            if room > 0:
                cells = algorithm.propose(room, pending=list(running.values()))
                for arch in cells:
                    subs.write(json.dumps({"arch": space.to_string(arch),
                                           "after": len(archs)}) + "\n")
                subs.flush()
                n_submitted += len(cells)
                for arch in cells:
                    launch(arch)
            for out in executor.wait():
                arch = running.pop(out.task)
                ev = out.result if out.error is None else Evaluation.failure(out.error)
                record(arch, ev)
    return SearchResult(algorithm.name, int(seed), archs, np.asarray(values, dtype=float),
                        np.asarray(times, dtype=float),
                        {m: np.asarray(v, dtype=float) for m, v in extra.items()}, None)


def _replay(algorithm: SearchAlgorithm, domain: Domain, records: list[Record],
            submitted: list[tuple[str, int]], folder: Path) -> list[Hashable]:
    """Bring ``algorithm`` to its state when the run stopped; return the cells in flight then.

    Proposals and observations are re-played in their recorded order: submission ``i``
    happened after ``after_i`` answers had been observed.

    Raises:
        ValueError: If the files disagree with each other or with what the algorithm proposes.
    """
    def decode(text: str, what: str) -> Hashable:
        try:
            cell = domain.lookup(domain.space.from_string(text))
        except ValueError as exc:
            raise ValueError(f"{folder}: {what} holds {text!r}, not a cell of the "
                             f"{domain.space.name} space ({exc}).") from exc
        if cell is None:
            raise ValueError(f"{folder}: {what} holds {text!r}, outside the search's cells.")
        return cell

    pending: dict[Hashable, Hashable] = {}
    k = 0
    for j in range(len(records) + 1):
        while k < len(submitted) and submitted[k][1] <= j:
            cell = decode(submitted[k][0], f"submission {k}")
            proposed = algorithm.propose(pending=list(pending.values()))
            if domain.key(proposed) != domain.key(cell):
                raise ReplayMismatch(
                    f"{folder}: submission {k} is {submitted[k][0]} but {algorithm.name} "
                    f"proposes {domain.space.to_string(proposed)} for seed {algorithm.seed}")
            pending[domain.key(cell)] = cell
            k += 1
        if j == len(records):
            break
        rec = records[j]
        cell = decode(rec.arch, f"history line {j + 1}")
        if pending.pop(domain.key(cell), None) is None:
            raise ValueError(f"{folder}: history line {j + 1} answers {rec.arch}, which was not "
                             "submitted; the files do not belong together.")
        algorithm.observe(cell, math.nan if rec.failed else rec.value)
    if k < len(submitted):
        raise ValueError(f"{folder}: submission {k} comes after more answers than the history "
                         "holds; the files do not belong together.")
    return list(pending.values())
