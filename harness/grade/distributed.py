"""Grading on a Dask cluster: the driver reads, tallies and writes; the workers score.

`harness grade SUBMISSIONS --dask ADDRESS` (the `dask` extra) keeps
everything but scoring on this machine: the file is read and checked, the
per-person and per-question tallies kept and the outputs written exactly as
in a single-process run. What goes to the workers is batches of distinct
(question, answer) pairs; each comes back as the graded rows the grader
writes.

`open_dask` connects to a running scheduler (`tcp://host:8786`) or starts a
`LocalCluster` (`local`, `local:N`), checks that every worker runs this
machine's harness (its version and a digest of its code), and registers a `dask_worker.ScorerPlugin` carrying the
bank and the calibration as data, so each worker builds its scorer once and
keeps it for the run. It yields a `DaskScorer`, which the grader calls in
place of the in-process scorer: `submit` sends a batch and returns a handle,
and the grader keeps at most `window` batches in flight, so the driver's
memory stays flat however large the file. When a worker dies the scheduler
re-runs its batches elsewhere (a `LocalCluster` restarts it too), so the
run ends with the same outputs.

`distributed` is imported only here, inside `open_dask`, so the rest of the
harness never needs it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness import __version__
from harness.errors import HarnessError
from harness.types import Bank, Score

if TYPE_CHECKING:
    import numpy as np
    from distributed import Client, Future

    from harness.grade.tally import Graded
    from harness.scoring.anchors import AnchorState, TeacherGrade
    from harness.scoring.calibration import Calibration

CONNECT_TIMEOUT = 5.0  # seconds to reach a scheduler before giving up
WORKERS_TIMEOUT = 30.0  # seconds for a first worker to join a scheduler that has none
POLL_SECONDS = 5.0  # how often a wait for a batch checks that workers remain
LOST_TIMEOUT = 120.0  # seconds without any worker before a running grade gives up
IN_FLIGHT_PER_WORKER = 2  # batches queued per worker: one running, one ready to start
BATCH_SIZE = 128  # answers per task: about a second's work, against milliseconds of Dask overhead
INSTALL_HINT = "pip install 'interview-harness[dask]'"
_REMOTE = re.compile(r"^(?:(tcp|tls)://)?([\w.\-\[\]:]+):(\d{1,5})$")
_LOCAL = re.compile(r"^local(?::(\d+))?$")


class DaskError(HarnessError):
    """Dask missing, a scheduler that cannot be reached, or workers unfit for the run."""


@dataclass(frozen=True)
class DaskAddress:
    """Where to grade: a scheduler's address, or `workers` local worker processes (scheduler None)."""

    scheduler: str | None
    workers: int = 0

    def __str__(self) -> str:
        return self.scheduler or f"local:{self.workers}"


@dataclass(frozen=True)
class ScorerSpec:
    """What a worker needs to build the scorer, sent as data: no bank files on the workers."""

    bank: Bank
    embedder: str
    calibration: Calibration
    harness_version: str = __version__
    anchors: tuple[TeacherGrade, ...] = ()  # teacher grades; each worker fits their correction itself


def parse_address(text: str) -> DaskAddress:
    """`tcp://host:8786` (or `host:8786`), `local` (one worker per core) or `local:N`.

    Raises:
        DaskError: anything else, with the accepted forms.
    """
    value = text.strip()
    local = _LOCAL.match(value)
    if local:
        workers = int(local.group(1)) if local.group(1) else (os.cpu_count() or 1)
        if workers < 1:
            raise DaskError(f"--dask {text!r}: local:N needs at least 1 worker")
        return DaskAddress(None, workers)
    remote = _REMOTE.match(value)
    if remote and 0 < int(remote.group(3)) < 65536:
        return DaskAddress(f"{remote.group(1) or 'tcp'}://{remote.group(2)}:{remote.group(3)}")
    raise DaskError(f"--dask {text!r}: give a scheduler address (tcp://HOST:8786, as `dask scheduler` "
                    "prints), `local` (a worker per core on this machine) or `local:N` (N workers)")


class Pending:
    """One batch on the cluster; `result()` waits for its graded rows."""

    def __init__(self, future: Future[Any], client: Client) -> None:
        self._future, self._client = future, client

    def result(self) -> list[Graded]:
        """The batch's graded rows, in the order sent.

        Raises:
            DaskError: the batch killed worker after worker, every worker left, or the
                scheduler was lost.
            HarnessError: the worker's scorer refused the batch (e.g. could not load).
        """
        rows: list[Graded] = _wait(self._future, self._client)
        return rows


class DaskScorer:
    """The grader's scorer on a Dask cluster: batches go to the workers' `ScorerPlugin`."""

    def __init__(self, client: Client, spec: ScorerSpec, plugin: str, *, address: str, workers: int) -> None:
        self._client, self._spec, self._plugin = client, spec, plugin
        self.address, self.workers = address, workers

    @property
    def bank(self) -> Bank:
        return self._spec.bank

    @property
    def embedder_id(self) -> str:
        return self._spec.embedder

    @property
    def calibration_id(self) -> str:
        return self._spec.calibration.id

    @property
    def calibration(self) -> Calibration:
        return self._spec.calibration

    @property
    def window(self) -> int:
        """How many batches may be in flight at once."""
        return IN_FLIGHT_PER_WORKER * max(self.workers, 1)

    @property
    def batch_size(self) -> int:
        """Answers per batch: small enough to spread a few hundred over every worker."""
        return BATCH_SIZE

    def submit(self, items: Sequence[tuple[str, str]]) -> Pending:
        """Send one batch of distinct (question id, answer) pairs to be graded."""
        from harness.grade.dask_worker import grade_batch

        return Pending(self._client.submit(grade_batch, self._plugin, list(items), pure=False), self._client)

    def score_many(self, items: Sequence[tuple[str, str]]) -> list[Score]:
        """Full scores of (question id, answer) pairs, scored on a worker (as `Scorer.score_many`).

        Raises:
            DaskError: as `Pending.result`.
        """
        from harness.grade.dask_worker import score_batch

        future = self._client.submit(score_batch, self._plugin, list(items), pure=False)
        scores: list[Score] = _wait(future, self._client)
        return scores

    def anchor_state(self) -> AnchorState | None:
        """The teacher anchors' correction as a worker fitted it (every worker fits the same).

        Raises:
            DaskError: as `Pending.result`.
            CalibrationError: the calibration has no anchor prior.
        """
        from harness.grade.dask_worker import anchor_state

        state: AnchorState | None = _wait(self._client.submit(anchor_state, self._plugin, pure=False), self._client)
        return state

    def answer_vectors(self, items: Sequence[tuple[str, str]]) -> list[np.ndarray | None]:
        """Each answer's vector as the workers embed it (None for a blank one), `batch_size` at a time.

        Raises:
            DaskError: as `Pending.result`.
        """
        from harness.grade.dask_worker import vectors_batch

        futures = [self._client.submit(vectors_batch, self._plugin, list(items[i : i + BATCH_SIZE]), pure=False)
                   for i in range(0, len(items), BATCH_SIZE)]
        return [v for future in futures for v in _wait(future, self._client)]


@contextmanager
def open_dask(address: DaskAddress, spec: ScorerSpec, *,
              connect_timeout: float = CONNECT_TIMEOUT) -> Iterator[DaskScorer]:
    """Connect (or start a local cluster), check the workers and give them the scorer, for one run.

    Raises:
        DaskError: Dask not installed; no scheduler at the address within `connect_timeout`;
            no workers; workers without the harness or with another version or other code.
        HarnessError: a worker could not build the scorer (e.g. the embedder is missing there).
    """
    with _client(address, connect_timeout) as client:
        workers = _check_workers(client, address)
        from harness.grade.dask_worker import ScorerPlugin

        name = f"harness-scorer-{uuid.uuid4().hex[:12]}"
        client.register_plugin(ScorerPlugin(spec), name=name)
        try:
            yield DaskScorer(client, spec, name, address=str(address), workers=workers)
        finally:
            _quietly_unregister(client, name)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise DaskError(f"--dask needs Dask's distributed scheduler, which is not installed; run: {INSTALL_HINT}"
                        ) from exc
    return distributed


@contextmanager
def _client(address: DaskAddress, timeout: float) -> Iterator[Client]:
    distributed = _import_distributed()
    if address.scheduler is None:
        with _environ_kept(), distributed.LocalCluster(
                n_workers=address.workers, threads_per_worker=1, processes=True,
                dashboard_address=":0",  # any free port: 8787 may be another cluster's
                silence_logs=logging.ERROR) as cluster, distributed.Client(cluster, set_as_default=False) as client:
            yield client
        return
    try:
        client = distributed.Client(address.scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise DaskError(
            f"cannot reach a Dask scheduler at {address.scheduler} within {timeout:g} s; start one there with "
            f"`dask scheduler` and workers with `dask worker {address.scheduler}`, or grade on this machine's "
            "cores with --dask local"
        ) from exc
    with client:
        yield client


@contextmanager
def _environ_kept() -> Iterator[None]:
    """Undo what a LocalCluster's nannies set in this process's environment to spawn workers.

    Dask sets `OMP_NUM_THREADS=1` and the like (`distributed.nanny.pre-spawn-environ`)
    for its workers, in the process that starts them; an embedder loaded here later
    must still see the user's settings.
    """
    import dask

    names = list(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _check_workers(client: Client, address: DaskAddress) -> int:
    """The number of workers, once all of them are known to run this machine's harness.

    Each worker's harness version and a digest of its code are compared with
    this machine's, so a worker with another checkout of the same version (say,
    without Dask support) is refused too.

    Raises:
        DaskError: no worker joins, or one lacks the harness or runs another version or other code.
    """
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
    except TimeoutError as exc:
        raise DaskError(f"no Dask worker joined the scheduler at {address} within {WORKERS_TIMEOUT:g} s; "
                        f"start them with `dask worker {address}` on each machine") from exc

    def harness_identity() -> tuple[str, str] | None:  # local, so sent by value: it runs without the harness
        import hashlib
        from pathlib import Path

        try:
            import harness
        except ImportError:
            return None
        root, digest = Path(harness.__file__).parent, hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
        return str(harness.__version__), digest.hexdigest()[:16]

    here = harness_identity()
    found: dict[str, tuple[str, str] | None] = client.run(harness_identity)
    missing = sorted(w for w, v in found.items() if v is None)
    if missing:
        raise DaskError(f"{_workers(missing)} cannot import the harness; install it there ({INSTALL_HINT}, "
                        f"version {__version__}) and start the workers again")
    other = sorted(w for w, v in found.items() if v and v[0] != __version__)
    if other:
        raise DaskError(f"{_workers(other)} run(s) harness {found[other[0]][0]}, this machine "  # type: ignore[index]
                        f"{__version__}; install the same version on every worker so the scores agree")
    changed = sorted(w for w, v in found.items() if v != here)
    if changed:
        raise DaskError(f"{_workers(changed)} run(s) harness {__version__} but not the same code as this machine "
                        "(another checkout, or a change made here); install this machine's harness on every "
                        "worker so the scores agree")
    return len(found)


def _workers(addresses: list[str]) -> str:
    more = f" and {len(addresses) - 1} more" if len(addresses) > 1 else ""
    return f"the Dask worker at {addresses[0]}{more}"


def _wait(future: Future[Any], client: Client) -> Any:
    """The future's result, turning Dask's failures into one plain message each.

    Raises:
        DaskError: as `Pending.result`.
    """
    from distributed import KilledWorker
    from distributed.client import FutureCancelledError

    alone_since: float | None = None
    while not future.done():  # type: ignore[no-untyped-call]
        try:
            future.result(timeout=POLL_SECONDS)
        except (TimeoutError, asyncio.TimeoutError):
            alone_since = _alone_since(client, alone_since)
        except Exception:  # the batch failed: its error is raised (and named) below
            break
    try:
        return future.result()
    except KilledWorker as exc:
        raise DaskError("a batch of answers was running on each of several Dask workers as they died "
                        f"({exc}); check the workers' memory and logs") from exc
    except FutureCancelledError as exc:
        raise DaskError(f"the Dask scheduler dropped a batch ({exc}); is it still running?") from exc


def _alone_since(client: Client, since: float | None) -> float | None:
    """When the cluster was last seen without workers (None: it has some).

    Raises:
        DaskError: it has had none for `LOST_TIMEOUT` seconds.
    """
    if client.scheduler_info().get("workers"):
        return None
    if since is None:
        return time.monotonic()
    if time.monotonic() - since > LOST_TIMEOUT:
        raise DaskError(f"every Dask worker has left for {LOST_TIMEOUT:g} s; start workers again and grade again")
    return since


def _quietly_unregister(client: Client, name: str) -> None:
    try:
        client.unregister_worker_plugin(name)  # type: ignore[no-untyped-call]
    except Exception:  # the cluster may be gone already; the run's outcome stands
        logging.getLogger(__name__).debug("could not unregister %s", name, exc_info=True)
