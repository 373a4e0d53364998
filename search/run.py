"""Command line: ``python -m search.run`` runs searches and reports them.

A search looks values up in a benchmark table, or trains each candidate's network on the user's
data (``--evaluator train --data digits``), with ``--workers`` evaluations (training) or runs
(table) in parallel on Ray (:mod:`search.cli_train`)::

    python -m search.run --evaluator train --data digits --epochs 5 --budget 20 --workers 4

With no arguments it runs assessor-guided search on the embedded NAS-Bench-201 table (the
AnalogNAS-Bench digital retrain of the 15,625 NB201 cells on CIFAR-10, optimum 94.07; not the
official NB201 numbers, whose optimum is 94.37) with a budget of 100 queries. Outputs go to
``--out`` (default ``runs/<timestamp>``)::

    config.json                        what produced the folder (checked by --resume), with the
                                       benchmark's content fingerprint, package version, commit
    <algorithm>/seed<k>/history.jsonl  one flushed line per query, in completion order
    <algorithm>/seed<k>/submitted.jsonl  (training) the cells handed to workers, in order
    eval_cache.jsonl                   (training) finished trainings, shared by the runs
    runs.csv                           one row per query of every run
    summary.json                       {"config", "benchmark", "optimum", "runs", "aggregate"}
    best_vs_queries.png                best value vs queries, median and spread over seeds
    .lock                              held while a process writes the folder (holds its pid)

Every value is checked before anything is written. Bad input prints one line on stderr and exits
with code 2; Ctrl-C exits with code 130 and says how to continue. ``--help`` is answered without
importing torch (the heavy modules are imported where they are first needed).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from search.cli_config import (
    FOLDER_KEYS,
    UsageError,
    algorithm_params,
    build_parser,
    check_values,
    load_benchmark,
)
from search.cli_config import make_config as make_config
from search.cli_config import parse_seeds as parse_seeds
from search.cli_train import check_network, execution_options, make_executor
from search.folder import fingerprint
from search.history import FINGERPRINT_KEY
from search.oneshot_cli import is_oneshot, make_oneshot_config

PROG = "python -m search.run"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def out_folder(out: str | None) -> Path:
    """The output folder: ``--out``, or a new ``runs/<timestamp>`` folder (created here, with a
    ``-2``, ``-3``, ... suffix when another run took that second's name, so that runs started
    together never share a folder the user did not choose)."""
    if out:
        return Path(out)
    base = Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    try:
        base.parent.mkdir(exist_ok=True)
        for n in range(1, 10_000):
            folder = base if n == 1 else base.with_name(f"{base.name}-{n}")
            try:
                folder.mkdir()  # atomic: exactly one process creates each name
            except FileExistsError:
                continue
            return folder
    except OSError as exc:
        raise UsageError(f"cannot create an output folder under {base.parent.resolve()} "
                         f"({exc.strerror or exc}); pass --out.") from None
    raise UsageError(f"{base}: 9,999 runs already started this second; pass --out.")


def _drop_if_empty(folder: Path | None, chosen: bool) -> None:
    """Remove a ``runs/<timestamp>`` folder this command created but wrote nothing into."""
    if folder is not None and not chosen:
        try:
            folder.rmdir()  # only succeeds when empty
        except OSError:
            pass


def check_out(folder: Path, config: dict[str, Any], resume: bool, *,
              ignore: tuple[str, ...] = ()) -> None:
    """Check that ``folder`` may be written: empty (new run) or holding the same config (resume).

    Args:
        folder: The output folder.
        config: The run's configuration.
        resume: Whether ``--resume`` was given.
        ignore: Further keys of ``config.json`` not to compare (besides device and provenance).

    Raises:
        UsageError: If the folder holds other files without ``resume``, or a different config
            (or nothing) with ``resume``.
    """
    from search.folder import LOCK_NAME
    from search.history import ConfigMismatch, check_config

    try:
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"--out {folder} is a file, not a folder; choose another --out.")
        if resume:
            if not folder.is_dir():
                raise UsageError(f"--resume: {folder} does not exist; there is nothing to resume.")
            check_config(folder, config, ignore=FOLDER_KEYS + ignore)
        elif folder.exists() and (not folder.is_dir()
                                  or any(p.name != LOCK_NAME for p in folder.iterdir())):
            raise UsageError(f"{folder} already holds files; pass --resume to continue it or "
                             "choose another --out.")
    except (ConfigMismatch, ValueError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot read {folder}: {exc}") from None


@contextmanager
def open_out(folder: Path, config: dict[str, Any], resume: bool) -> Iterator[dict[str, Any]]:
    """Lock ``folder``, check it again under the lock, and write ``config.json`` for a new run.

    Yields:
        The configuration as stored in ``config.json`` (with the provenance of the first run).

    Raises:
        UsageError: If another process holds the folder, or :func:`check_out` fails.
    """
    from search.folder import FolderBusy, FolderLock, provenance
    from search.history import read_config, write_config

    try:
        lock = FolderLock(folder)
    except FolderBusy as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write to {folder}: {exc}") from None
    with lock:
        check_out(folder, config, resume)
        if resume:
            stored = read_config(folder) or config
        else:
            stored = {**config, **provenance()}
            try:
                write_config(folder, stored)
            except OSError as exc:
                raise UsageError(f"cannot write to {folder}: {exc}") from None
        yield stored


def execute(config: dict[str, Any], bench: Any, domain: Any, folder: Path, *, resume: bool,
            quiet: bool, stored: dict[str, Any] | None = None,
            execution: dict[str, Any] | None = None, executor: Any = None,
            interrupts: _Interrupts | None = None) -> dict[str, Any]:
    """Run every (algorithm, seed) of ``config``, writing histories, runs.csv, summary and plot.

    Table runs go one after the other in this process, or, given a Ray ``executor``, that many
    at a time; training runs go one after the other through ``executor``, each with
    ``--workers`` evaluations in flight (:mod:`search.cli_train`).

    ``runs.csv`` and ``summary.json`` are written whole (atomically) once every run has
    finished or been replayed, so that they always describe the complete set of runs.

    ``interrupts`` (from :func:`main`) stops the runs after the next recorded query once
    Ctrl-C was seen, even if Python swallowed the ``KeyboardInterrupt`` itself.

    Returns:
        The summary (also written to ``summary.json``).

    Raises:
        UsageError: If a stored history cannot be resumed (corrupt, edited, or from other code).
        KeyboardInterrupt: On Ctrl-C.
    """
    from tqdm.auto import tqdm

    from search.algorithms import ALGORITHMS, ReplayMismatch
    from search.cli_config import describe_benchmark
    from search.cli_train import TRAIN_METRIC, describe_training, run_tables, run_training
    from search.engine import finite_optimum, run_search
    from search.history import read_history
    from search.report import format_table, plot, summary, write_runs_csv, write_summary

    budget, seeds = config["budget"], config["seeds"]
    runs = [(a, s) for a in config["algorithms"] for s in seeds]
    results = []
    try:
        done = sum(len(read_history(_hist(folder, a, s), repair=False)) for a, s in runs)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    execution = execution or {"workers": 1, "ray_address": None, "gpus_per_eval": 0.0}
    training = config.get("evaluator") == "train"
    histories = [_hist(folder, a, s) for a, s in runs]
    with tqdm(total=budget * len(runs), initial=done, desc="search", unit="query", disable=quiet,
              file=sys.stderr, dynamic_ncols=True) as bar:
        # table runs stop at the next recorded query on a swallowed Ctrl-C (their histories
        # hold every result); trainings take Ctrl-C at batch boundaries (CtrlC) and record
        # each finished batch of outcomes whole, so they keep the plain update
        update = bar.update if interrupts is None else interrupts.tick(bar.update)
        if training:
            results = run_training(config, domain, runs, histories, resume, executor,
                                   execution, bar.update)
        elif executor is not None:
            results = run_tables(config, bench, domain, runs, histories, resume, executor,
                                 update)
        else:
            for algo, seed in runs:
                bar.set_postfix_str(f"{algo} seed {seed}")
                try:
                    algorithm = ALGORITHMS[algo](**algorithm_params(config, algo))
                    res = run_search(algorithm, bench, budget, seed, metric=config["metric"],
                                     report_metrics=config["report_metrics"], domain=domain,
                                     history=_hist(folder, algo, seed), resume=resume,
                                     stop_at_optimum=config["stop_at_optimum"],
                                     device=config["device"], progress=update)
                except (ValueError, ReplayMismatch) as exc:
                    raise UsageError(f"{algo} seed {seed}: {exc}") from None
                results.append(res)
    write_runs_csv(results, bench.space, folder / "runs.csv")
    if training:
        metric, optimum = TRAIN_METRIC, None
        long_name, short_name = describe_training(config, bench.space)
    else:
        metric = config["metric"] or bench.metric
        optimum = finite_optimum(bench, metric)
        long_name, short_name = describe_benchmark(bench, config, optimum)
    summ = summary(results, bench.space, stored or config, benchmark=long_name, optimum=optimum)
    write_summary(summ, folder / "summary.json")
    plot(results, folder / "best_vs_queries.png", metric=metric, optimum=optimum,
         title=f"{short_name}: best {metric} vs queries")
    print(format_table(summ, optimum=optimum, benchmark=long_name))
    print(f"\nOutputs in {folder}/ (summary.json, runs.csv, best_vs_queries.png, histories)")
    return summ


def _hist(folder: Path, algorithm: str, seed: int) -> Path:
    return folder / algorithm / f"seed{seed}" / "history.jsonl"


class _Interrupts:
    """Marks Ctrl-C while installed, so that a library that turns it into ``sys.exit``
    (Lightning's trainer does) is still reported as an interrupt, and one that Python swallowed
    (raised inside a finalizer, where it is printed as "ignored") still stops the run at the
    next recorded query (:meth:`tick`)."""

    def __init__(self) -> None:
        self.seen = False
        self._previous: Any = None

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> NoReturn:
        self.seen = True
        raise KeyboardInterrupt

    def tick(self, update: Any) -> Any:
        """``update`` (a progress callback) that raises ``KeyboardInterrupt`` once Ctrl-C was
        seen: called after every recorded query, so nothing recorded is lost."""
        def wrapped(n: int = 1) -> Any:
            out = update(n)
            if self.seen:
                raise KeyboardInterrupt
            return out
        return wrapped

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (0; 2 on bad input; 130 on Ctrl-C)."""
    folder: Path | None = None
    written, chosen = False, True
    with _Interrupts() as interrupts:
        try:
            try:
                args = build_parser(PROG).parse_args(argv)
            except SystemExit as exc:  # --help
                return int(exc.code or 0)
            chosen = bool(args.out)
            if args.resume and not args.out:
                raise UsageError("--resume needs --out: the folder of the run to continue.")
            logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                                format="%(levelname)s %(name)s: %(message)s")
            if is_oneshot(args.algorithm):  # EnTranNAS / DARTS super-nets: search/oneshot.py
                from search import oneshot

                config, bench = make_oneshot_config(args)
                folder = out_folder(args.out)
                check_out(folder, config, args.resume)
                with open_out(folder, config, args.resume) as stored:
                    written = True
                    print(f"{PROG}: writing to {folder}", file=sys.stderr)
                    oneshot.execute(config, bench, folder, resume=args.resume, quiet=args.quiet,
                                    verbose=args.verbose, stored=stored)
                return 0
            config = make_config(args)
            execution = execution_options(args)
            folder = out_folder(args.out)
            check_out(folder, config, args.resume, ignore=(FINGERPRINT_KEY,))
            bench, domain = load_benchmark(config)
            config[FINGERPRINT_KEY] = fingerprint(bench, config["path"])
            check_values(config, domain)
            if config.get("evaluator") == "train":
                check_network(config, domain.space, domain.archs[0],
                              build_data=execution["ray_address"] is None)
            executor = make_executor(config, execution)  # a cluster is joined before writing
            try:
                with open_out(folder, config, args.resume) as stored:  # locked until the end
                    written = True
                    print(f"{PROG}: writing to {folder}", file=sys.stderr)
                    execute(config, bench, domain, folder, resume=args.resume,
                            quiet=args.quiet, stored=stored, execution=execution,
                            executor=executor, interrupts=interrupts)
            finally:
                if executor is not None:
                    executor.shutdown()
        except UsageError as exc:
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            return _interrupted(folder if written else None)
        except SystemExit:
            if interrupts.seen:  # Ctrl-C that a library turned into sys.exit
                return _interrupted(folder if written else None)
            raise
        finally:
            if not written:  # whatever stopped the command before it wrote anything
                _drop_if_empty(folder, chosen)
    return 0


def _interrupted(folder: Path | None) -> int:
    if folder is None:
        print(f"{PROG}: interrupted before anything was written", file=sys.stderr)
    else:
        print(f"{PROG}: interrupted; continue with --resume and the same --out ({folder})",
              file=sys.stderr)
    return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
