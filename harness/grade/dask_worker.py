"""The worker side of grading on Dask: a plugin that holds the scorer, and the batch tasks.

`ScorerPlugin` travels to every worker (and to any worker that joins or
restarts later) with the bank and the calibration inside it as data, so a
worker needs the harness installed but none of the bank's files. Its set-up
builds the scorer once per worker: the embedder named in the spec (with the
worker's own embedding cache, `$HARNESS_CACHE` or its user cache folder),
the bank, the calibration and the teacher's anchor grades (each worker
fits their correction itself, the same everywhere). The tasks
`grade_batch` and `score_batch` (and, for teacher anchors, `anchor_state`
and `vectors_batch`) find the plugin by the run's name and score one batch
under a lock, so a worker started with several threads still scores one
batch at a time (the embedder uses the machine's cores itself).

This module imports `distributed`; only `harness.grade.distributed` imports
it, after it has found Dask installed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from distributed import Worker, WorkerPlugin, get_worker

from harness.errors import HarnessError
from harness.grade.grader import compact
from harness.grade.tally import Graded
from harness.types import Score

if TYPE_CHECKING:
    import numpy as np

    from harness.grade.distributed import ScorerSpec
    from harness.scoring.anchors import AnchorState
    from harness.scoring.scorer import Scorer


class WorkerSetupError(HarnessError):
    """A Dask worker that could not build the scorer for this run."""


class ScorerPlugin(WorkerPlugin):
    """Builds the run's scorer on each worker once and keeps it for the run."""

    def __init__(self, spec: ScorerSpec) -> None:
        self.spec = spec
        self.scorer: Scorer | None = None
        self.failure = ""

    def __getstate__(self) -> dict[str, object]:
        return {"spec": self.spec, "scorer": None, "failure": ""}  # never ship a built scorer or a lock

    async def setup(self, worker: Worker) -> None:
        """Build the scorer in a thread, so the worker keeps answering the scheduler meanwhile.

        Raises:
            HarnessError: the embedder or its model cannot be had on this worker.
        """
        self._lock = threading.Lock()
        await asyncio.get_running_loop().run_in_executor(None, self._build)

    def teardown(self, worker: Worker) -> None:
        """Drop the scorer when the run ends (the plugin is unregistered)."""
        self.scorer = None

    def _build(self) -> None:
        from harness.encoders import get_encoder
        from harness.encoders.reuse import ReusingEncoder
        from harness.scoring.scorer import Scorer

        try:
            encoder = ReusingEncoder(get_encoder(self.spec.embedder))
            scorer = Scorer(self.spec.bank, encoder, self.spec.calibration, anchors=self.spec.anchors)
            scorer.warm_up()
        except Exception as exc:
            self.failure = f"{type(exc).__name__}: {exc}"
            raise
        self.scorer = scorer

    def score(self, items: Sequence[tuple[str, str]]) -> list[Score]:
        """Scores of a batch of (question id, answer), one batch at a time per worker.

        Raises:
            WorkerSetupError: the scorer could not be built on this worker.
        """
        with self._lock:
            return self._built().score_many(items)

    def anchor_state(self) -> AnchorState | None:
        """The teacher anchors' correction this worker's scorer applies (fitted on first use).

        Raises:
            WorkerSetupError: the scorer could not be built on this worker.
        """
        with self._lock:
            return self._built().anchor_state()

    def vectors(self, items: Sequence[tuple[str, str]]) -> list[np.ndarray | None]:
        """The answers' vectors as the scorer embeds them.

        Raises:
            WorkerSetupError: the scorer could not be built on this worker.
        """
        with self._lock:
            return self._built().answer_vectors(items)

    def _built(self) -> Scorer:
        if self.scorer is None:
            raise WorkerSetupError(f"a Dask worker could not load the scorer: {self.failure or 'not set up'}")
        return self.scorer


def grade_batch(plugin: str, items: list[tuple[str, str]]) -> list[Graded]:
    """The graded rows (scores.csv cells and tally inputs) of a batch of distinct answers.

    Raises:
        WorkerSetupError: this worker has no scorer for the run.
    """
    scorer = _plugin(plugin)
    return [compact(s, scorer.spec.bank) for s in scorer.score(items)]


def score_batch(plugin: str, items: list[tuple[str, str]]) -> list[Score]:
    """The full `Score`s of a batch (for callers that want the evidence, not only the rows).

    Raises:
        WorkerSetupError: this worker has no scorer for the run.
    """
    return _plugin(plugin).score(items)


def anchor_state(plugin: str) -> AnchorState | None:
    """The teacher anchors' correction of the run, as this worker fitted it.

    Raises:
        WorkerSetupError: this worker has no scorer for the run.
    """
    return _plugin(plugin).anchor_state()


def vectors_batch(plugin: str, items: list[tuple[str, str]]) -> list[np.ndarray | None]:
    """The vectors of a batch of answers (None for a blank one), for `grade --suggest-anchors`.

    Raises:
        WorkerSetupError: this worker has no scorer for the run.
    """
    return _plugin(plugin).vectors(items)


def _plugin(name: str) -> ScorerPlugin:
    worker = get_worker()
    plugin = worker.plugins.get(name)
    if not isinstance(plugin, ScorerPlugin):
        raise WorkerSetupError(f"the Dask worker at {worker.address} has no scorer for this run; see its log")
    return plugin
