"""Steps (and tuning trials) as Ray tasks: the same pipeline on a laptop or a cluster.

Only object hashes travel through Ray; step inputs and outputs live in loopml's
content-addressed object store, so a run on Ray computes the same cache keys and stores the
same artifacts as a local run. ``pip install 'loopml[ray]'`` brings Ray.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from loopml.errors import (
    ExecutorUnavailableError,
    InvalidParameterError,
    InvalidStateError,
    StepFailedError,
)
from loopml.pipeline.executors.base import (
    Executor,
    Resources,
    StepTask,
    StepTimeoutError,
    run_task,
)

__all__ = ["RayExecutor", "start_local_ray"]

_CONNECT_TIMEOUT_S = 3.0
_remote_cache: dict[Callable[[bytes], bytes], Any] = {}


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InvalidParameterError(
            "the Ray executor needs Ray: pip install 'loopml[ray]'", executor="ray"
        ) from None
    return ray


def _probe(address: str) -> None:
    """Fail in seconds, not minutes, when nothing listens at ``address`` (Ray's own retry
    loop waits a long time for a head node that is not there)."""
    if address in ("auto", "local"):
        return
    parsed = urlsplit(address if "://" in address else f"tcp://{address}")
    host, port = parsed.hostname, parsed.port
    if not host or not port:
        raise InvalidParameterError(
            f"Ray address {address!r} is not host:port or ray://host:port", address=address
        )
    try:
        with socket.create_connection((host, port), timeout=_CONNECT_TIMEOUT_S):
            return
    except OSError as exc:
        raise _unreachable(address, exc) from None


def _unreachable(address: str, exc: BaseException) -> ExecutorUnavailableError:
    detail = str(exc)
    cause = exc.__cause__
    if cause is not None and str(cause):
        # Ray's ConnectionError hides the reason (e.g. a missing auth token) in its cause
        detail += f": {type(cause).__name__}: {str(cause).splitlines()[0][:300]}"
    return ExecutorUnavailableError(
        f"cannot reach the Ray cluster at {address!r} ({detail}); start it with "
        "`ray start --head` (its address is printed), check host, port and firewall, or run "
        "without an address to use a local Ray instance",
        address=address,
    )


@dataclass
class _Pending:
    ref: Any  # ray.ObjectRef
    label: str
    timeout_s: float | None
    deadline: float | None = field(init=False)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.timeout_s if self.timeout_s else None


def start_local_ray(num_cpus: int | None = None, **init_kwargs: Any) -> None:
    """``ray.init(num_cpus=2, include_dashboard=False)`` on 127.0.0.1, with workers that
    import what this process imports (steps and objectives referenced by module name), as
    pool workers do. Ray's workers inherit the environment of the raylet this starts, which is
    cheaper than a runtime_env (that costs seconds on the first task)."""
    ray = _import_ray()
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "_node_ip_address": "127.0.0.1",
        "num_cpus": num_cpus if num_cpus is not None else 2,
    }
    kwargs.update(init_kwargs)
    paths = [p for p in sys.path if p and Path(p).exists()]
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([*paths, saved or ""])).strip(
        os.pathsep
    )
    try:
        ray.init(**kwargs)
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


class RayExecutor(Executor):
    """Runs each task as a Ray remote function with the step's cpus, gpus and memory.

    ``address`` is a running cluster (``"host:6379"``, ``"ray://host:10001"``, ``"auto"``);
    without one, a local instance bound to 127.0.0.1 is started (``num_cpus``, default 2) and
    shut down by :meth:`close`. If Ray is already initialised in this process, it is used as is.
    """

    name = "ray"

    def __init__(
        self, address: str | None = None, num_cpus: int | None = None, **init_kwargs: Any
    ) -> None:
        self._ray = ray = _import_ray()
        self.address = address or os.environ.get("LOOPML_RAY_ADDRESS") or None
        if self.address == "local":  # Ray's word for "start one here": ours, with our defaults
            self.address = None
        self._owned = False
        if self.address is not None:
            _probe(self.address)
        if not ray.is_initialized():
            self._connect(num_cpus, init_kwargs)
        elif self.address not in (None, "auto") and not self._connected_to(self.address):
            raise InvalidStateError(
                f"this process is already connected to another Ray cluster; call "
                f"ray.shutdown() before connecting to {self.address!r}",
                address=self.address,
            )
        self._lock = threading.Lock()
        self._pending: dict[Future[bytes], _Pending] = {}
        self._closed = False
        self._wake = threading.Event()
        self._watchdog: threading.Thread | None = None

    def _connect(self, num_cpus: int | None, init_kwargs: dict[str, Any]) -> None:
        if self.address is None:
            start_local_ray(num_cpus, **init_kwargs)
            self._owned = True
            return
        if num_cpus is not None:
            raise InvalidParameterError(
                "num_cpus sizes a local Ray instance; a cluster at an address has its own",
                address=self.address,
            )
        kwargs: dict[str, Any] = {"log_to_driver": False, **init_kwargs}
        try:
            self._ray.init(address=self.address, **kwargs)
        except ConnectionError as exc:
            raise _unreachable(self.address, exc) from None
        self._owned = True

    def _connected_to(self, address: str) -> bool:
        current = str(self._ray.get_runtime_context().gcs_address or "")
        wanted = urlsplit(address if "://" in address else f"tcp://{address}")
        return current.endswith(f":{wanted.port}") or address.startswith("ray://")

    # -- submitting -------------------------------------------------------------------------
    def submit(self, task: StepTask) -> Future[bytes]:
        return self.submit_call(run_task, task.payload, task.step, task.resources, task.timeout_s)

    def submit_call(
        self,
        fn: Callable[[bytes], bytes],
        payload: bytes,
        label: str,
        resources: Resources,
        timeout_s: float | None,
    ) -> Future[bytes]:
        """Run ``fn(payload)`` as a Ray task; ``label`` names it in errors and in Ray's UI."""
        if self._closed:
            raise StepFailedError(f"step {label!r}: the Ray executor is closed", step=label)
        self._check_fits(label, resources)
        options: dict[str, Any] = {
            "num_cpus": resources.cpus,
            "num_gpus": resources.gpus,
            "max_retries": 0,  # loopml retries steps itself, with the step's own policy
            "name": f"loopml:{label}",
        }
        if resources.memory_mb:
            options["memory"] = int(resources.memory_mb) * 1024 * 1024
        ref = self._remote(fn).options(**options).remote(payload)
        future: Future[bytes] = Future()
        future.set_running_or_notify_cancel()
        pending = _Pending(ref, label, timeout_s)
        with self._lock:
            self._pending[future] = pending
        ref.future().add_done_callback(lambda done: self._settle(future, done, label))
        if pending.deadline is not None:
            self._ensure_watchdog()
        return future

    def _remote(self, fn: Callable[[bytes], bytes]) -> Any:
        remote = _remote_cache.get(fn)
        if remote is None:
            remote = _remote_cache[fn] = self._ray.remote(fn)
        return remote

    def _check_fits(self, label: str, resources: Resources) -> None:
        """A task asking for more than the whole cluster has would wait forever in Ray."""
        total = self._ray.cluster_resources()
        for key, wanted in (("CPU", resources.cpus), ("GPU", resources.gpus)):
            if wanted and wanted > total.get(key, 0.0):
                raise InvalidParameterError(
                    f"step {label!r} asks for {wanted:g} {key}s but the Ray cluster has "
                    f"{total.get(key, 0.0):g}; lower the step's resources or add nodes",
                    step=label,
                )

    # -- results ----------------------------------------------------------------------------
    def _settle(self, future: Future[bytes], done: Future[Any], label: str) -> None:
        with self._lock:
            if self._pending.pop(future, None) is None:
                return  # already failed by the watchdog (timeout) or close()
        exc = done.exception()
        if exc is None:
            future.set_result(done.result())
        else:
            future.set_exception(self._translate(label, exc))

    def _translate(self, label: str, exc: BaseException) -> BaseException:
        ray = self._ray
        if isinstance(exc, ray.exceptions.RayTaskError):
            cause = getattr(exc, "cause", None)
            detail = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)
            return StepFailedError(f"step {label!r} failed on Ray: {detail}", step=label)
        if isinstance(exc, ray.exceptions.RayError):
            return StepFailedError(
                f"step {label!r}: the Ray worker running it was lost "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                "check the node's memory and `ray status`",
                step=label,
            )
        return exc

    def _ensure_watchdog(self) -> None:
        with self._lock:
            if self._watchdog is None:
                self._watchdog = threading.Thread(
                    target=self._watch, name="loopml-ray-timeouts", daemon=True
                )
                self._watchdog.start()
        self._wake.set()

    def _watch(self) -> None:
        while not self._closed:
            now = time.monotonic()
            expired: list[tuple[Future[bytes], _Pending]] = []
            next_deadline: float | None = None
            with self._lock:
                for future, task in list(self._pending.items()):
                    if task.deadline is None:
                        continue
                    if task.deadline <= now:
                        del self._pending[future]
                        expired.append((future, task))
                    elif next_deadline is None or task.deadline < next_deadline:
                        next_deadline = task.deadline
            for future, task in expired:
                self._ray.cancel(task.ref, force=True)
                future.set_exception(StepTimeoutError(task.label, task.timeout_s or 0.0))
            wait = 0.5 if next_deadline is None else max(0.0, next_deadline - time.monotonic())
            self._wake.wait(min(wait, 0.5))
            self._wake.clear()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        with self._lock:
            pending = list(self._pending.items())
            self._pending.clear()
        for future, task in pending:
            self._ray.cancel(task.ref, force=True)
            future.set_exception(
                StepFailedError(
                    f"step {task.label!r} was cancelled: the Ray executor closed", step=task.label
                )
            )
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()
