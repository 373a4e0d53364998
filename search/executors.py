"""Executors: where evaluations (or whole table runs) run, in this process or as Ray tasks.

An executor takes tasks (``submit(fn, *args)``) and hands back their outcomes as they finish
(``wait()``), in completion order. :class:`InProcessExecutor` runs one task at a time in this
process, when its outcome is awaited: a search driven through it behaves exactly like the plain
sequential loop. :class:`RayExecutor` runs tasks on a Ray cluster (Moritz et al., OSDI 2018,
https://arxiv.org/abs/1712.05889): a local one it starts for the run, listening on 127.0.0.1
only, or an existing cluster at ``address`` (many machines; every node needs gnnpred
installed). Ray retries a task whose worker process dies (``max_retries``), and an object
reference yields its result once, so an evaluation is never recorded twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

#: Seconds allowed to reach a cluster given by address.
CONNECT_TIMEOUT = 30.0
_LOCAL_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


class ClusterUnreachable(ConnectionError):
    """The Ray cluster at the given address could not be reached."""


@dataclass(frozen=True)
class Outcome:
    """A finished task.

    Attributes:
        task: The id :meth:`submit` returned.
        result: The task's return value (``None`` when it failed).
        error: Why the task failed (an exception in it, or its worker lost for good).
    """

    task: int
    result: Any = None
    error: str | None = None


class InProcessExecutor:
    """Run tasks one at a time in this process, each when :meth:`wait` is called.

    Exceptions of a task propagate (nothing runs concurrently that could be lost).
    """

    workers = 1

    def __init__(self) -> None:
        self._queue: list[tuple[int, Callable[..., Any], tuple[Any, ...]]] = []
        self._next = 0

    def put(self, obj: Any) -> Any:
        """A handle to pass ``obj`` to many tasks (the object itself here)."""
        return obj

    def submit(self, fn: Callable[..., Any], *args: Any) -> int:
        """Queue ``fn(*args)``; returns the task id."""
        self._next += 1
        self._queue.append((self._next, fn, args))
        return self._next

    def wait(self, timeout: float | None = None) -> list[Outcome]:
        """Run the oldest queued task and return its outcome (empty when none is queued)."""
        if not self._queue:
            return []
        task, fn, args = self._queue.pop(0)
        return [Outcome(task, fn(*args))]

    @property
    def n_running(self) -> int:
        return len(self._queue)

    def shutdown(self) -> None:
        self._queue.clear()

    def __enter__(self) -> InProcessExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


def _check_reachable(address: str, timeout: float) -> None:
    """Raise :class:`ClusterUnreachable` unless a TCP connection to ``address`` opens within
    ``timeout`` seconds (``auto`` and ``local`` are left to Ray)."""
    if address in ("auto", "local"):
        return
    host_port = address.split("://", 1)[-1]
    host, sep, port = host_port.rpartition(":")
    if not sep or not port.isdigit():
        raise ClusterUnreachable(f"--ray-address must be host:port (or ray://host:port, auto). "
                                 f"Got {address!r}.")
    deadline = time.monotonic() + timeout
    last: OSError | None = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host.strip("[]"), int(port)),
                                          timeout=max(0.1, min(5.0, deadline - time.monotonic()))):
                return
        except ConnectionRefusedError as exc:  # a live host without a cluster: no point waiting
            last = exc
            break
        except OSError as exc:
            last = exc
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    raise ClusterUnreachable(f"cannot reach the Ray cluster at {address} within {timeout:g} s "
                             f"({last}); start it with `ray start --head` there, check the "
                             "address and the firewall, or omit --ray-address to run locally.")


def _join(ray: Any, address: str, seconds: float, timeout: float) -> None:
    """``ray.init(address=...)`` with a deadline: Ray itself may retry for longer, so it runs in
    a daemon thread that is abandoned when the time is up."""
    box: dict[str, BaseException] = {}
    host = address.split("://", 1)[-1].rpartition(":")[0]
    local = host in ("127.0.0.1", "localhost")  # a loopback-only cluster of this machine

    def connect() -> None:
        try:
            with loopback_only() if local else contextlib.nullcontext():
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=connect, name="ray-connect", daemon=True)
    thread.start()
    thread.join(max(1.0, seconds))
    if thread.is_alive():
        raise ClusterUnreachable(f"the Ray cluster at {address} did not answer within "
                                 f"{timeout:g} s; check that it runs there (`ray status`), its "
                                 "port and RAY_AUTH_TOKEN, or omit --ray-address to run locally.")
    if "error" in box:
        exc = box["error"]
        raise ClusterUnreachable(f"cannot join the Ray cluster at {address}: "
                                 f"{_one_line(exc)}") from exc


class RayExecutor:
    """Run tasks as Ray tasks, each holding ``cpus_per_task`` CPUs and ``gpus_per_task`` GPUs.

    Args:
        workers: Tasks running at once on a local cluster (its CPU count is
            ``workers * cpus_per_task``); on an existing cluster its resources decide.
        address: An existing cluster (``host:port``, ``ray://host:port`` or ``auto``); ``None``
            starts a local cluster on 127.0.0.1 for this executor (or reuses the one this
            process already runs).
        cpus_per_task: CPUs each task holds.
        gpus_per_task: GPUs (a fraction is allowed) each task holds; Ray sets
            ``CUDA_VISIBLE_DEVICES`` for the task.
        max_retries: Times Ray re-runs a task whose worker process died.
        connect_timeout: Seconds allowed to reach ``address``.

    Raises:
        ValueError: If a count is out of range.
        ClusterUnreachable: If ``address`` cannot be reached in time.
    """

    def __init__(self, workers: int = 2, *, address: str | None = None,
                 cpus_per_task: float = 1.0, gpus_per_task: float = 0.0, max_retries: int = 3,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive int. Got {workers!r} instead.")
        if not cpus_per_task > 0 or not gpus_per_task >= 0:
            raise ValueError(f"cpus_per_task must be > 0 and gpus_per_task >= 0. Got "
                             f"{cpus_per_task!r} and {gpus_per_task!r}.")
        import ray

        self.workers = workers
        self.address = address
        self._ray = ray
        self._owner = False
        deadline = time.monotonic() + connect_timeout
        if address is not None:
            _check_reachable(address, connect_timeout)
        if not ray.is_initialized():
            if address is None:
                with loopback_only(), _quiet_auth_notice():
                    ray.init(num_cpus=max(1, round(workers * cpus_per_task)),
                             include_dashboard=False, logging_level=logging.WARNING,
                             log_to_driver=False)
            else:
                _join(ray, address, deadline - time.monotonic(), connect_timeout)
            self._owner = True
        self._options = {"num_cpus": cpus_per_task, "num_gpus": gpus_per_task,
                         "max_retries": max_retries, "retry_exceptions": False}
        self._remote: dict[Callable[..., Any], Any] = {}
        self._refs: dict[Any, int] = {}
        self._next = 0

    def put(self, obj: Any) -> Any:
        """Store ``obj`` in the cluster once; pass the handle to many tasks."""
        return self._ray.put(obj)

    def submit(self, fn: Callable[..., Any], *args: Any) -> int:
        """Start ``fn(*args)`` as a Ray task; returns the task id."""
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = self._ray.remote(fn).options(**self._options)
        self._next += 1
        self._refs[remote.remote(*args)] = self._next
        return self._next

    def wait(self, timeout: float | None = None) -> list[Outcome]:
        """Block until a task finishes (or ``timeout`` seconds pass); return every finished one,
        in the order they finished."""
        if not self._refs:
            return []
        refs = list(self._refs)
        ready, _ = self._ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:  # and whatever else is ready by now
            ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=0)
        out = []
        for ref in ready:
            task = self._refs.pop(ref)
            try:
                out.append(Outcome(task, self._ray.get(ref)))
            except self._ray.exceptions.RayTaskError as exc:  # the task raised
                cause = getattr(exc, "cause", None)
                out.append(Outcome(task, None, _one_line(cause if cause is not None else exc)))
            except self._ray.exceptions.RayError as exc:  # its worker was lost for good
                out.append(Outcome(task, None, _one_line(exc)))
        return out

    @property
    def n_running(self) -> int:
        return len(self._refs)

    def node_addresses(self) -> list[str]:
        """The IP address of every live node of the cluster."""
        return [n["NodeManagerAddress"] for n in self._ray.nodes() if n.get("Alive")]

    def shutdown(self) -> None:
        """Cancel running tasks; stop the cluster if this executor joined or started it."""
        for ref in list(self._refs):
            self._ray.cancel(ref, force=True)
        self._refs.clear()
        if self._owner and self._ray.is_initialized():
            self._ray.shutdown()
        self._owner = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """Make a local Ray cluster started inside this block listen on 127.0.0.1 only.

    Ray binds every process to the loopback when clusters are "disabled"
    (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, its default on macOS and Windows). Ray reads the
    variable when it is imported, so the constant is set too; both are restored afterwards, so
    that a later cluster address still works. The started processes inherit the variable, and
    the current directory on ``PYTHONPATH``, so that workers import the caller's modules (a
    data module given as ``package.module:ClassName``) as the driver does.
    """
    before = {k: os.environ.get(k) for k in (_LOCAL_ENV, "PYTHONPATH")}
    constants = sys.modules.get("ray._private.ray_constants")
    flag = getattr(constants, "ENABLE_RAY_CLUSTER", None)
    os.environ[_LOCAL_ENV] = "0"
    path = [p for p in (before["PYTHONPATH"] or "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join([os.getcwd(), *path])
    if constants is not None:
        constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if constants is not None:
            constants.ENABLE_RAY_CLUSTER = flag


@contextlib.contextmanager
def _quiet_auth_notice() -> Iterator[None]:
    """Hide Ray's notice that token authentication is on (it is, and stays on)."""
    log = logging.getLogger("ray._private.authentication.authentication_token_setup")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:500]}"
