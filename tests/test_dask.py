"""Grading on a Dask LocalCluster of 2 worker processes: same scores as in-process, clear refusals."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grade_helpers import tiny_bank

from harness.errors import EmbedderError
from harness.grade import distributed as dd
from harness.grade.distributed import DaskError, ScorerSpec, open_dask, parse_address
from harness.grade.grader import compact
from harness.scoring.calibration import resolve
from harness.scoring.scorer import Scorer
from harness.types import Bank

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(session_cache: Path) -> Iterator[str]:
    """A scheduler and 2 worker processes for the module; workers use the tests' embedding cache."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR, env={"HARNESS_CACHE": str(session_cache)}) as c:
        yield str(c.scheduler_address)


@pytest.fixture(scope="module")
def spec() -> ScorerSpec:
    return ScorerSpec(tiny_bank(), "use-multilingual", resolve("use-multilingual"))


@pytest.fixture(scope="module")
def local_scorer(spec: ScorerSpec, use_encoder: Any) -> Scorer:
    """In-process, on the same bank; scoring with it first puts the rubric vectors in the workers' cache."""
    return Scorer(spec.bank, use_encoder, spec.calibration)


def _items(bank: Bank, n: int) -> list[tuple[str, str]]:
    """Distinct short answers made of the rubrics' own statements: right, half right, wrong."""
    out = []
    for i in range(n):
        qid = list(bank.questions)[i % len(bank.questions)]
        points = [p.text for p in bank.rubrics[qid].key_points]
        out.append((qid, points[i % len(points)] + ("" if i % 3 else "，但不需要训练") + f"（{i}）"))
    return out


def test_workers_score_as_in_process(cluster: str, spec: ScorerSpec, local_scorer: Scorer) -> None:
    items = _items(spec.bank, 60)
    expected = [compact(s, spec.bank) for s in local_scorer.score_many(items)]
    with open_dask(parse_address(cluster), spec) as remote:
        assert remote.workers == 2 and remote.window == 4
        assert (remote.embedder_id, remote.calibration_id) == (local_scorer.embedder_id,
                                                               local_scorer.calibration_id)
        pending = [remote.submit(items[i : i + 15]) for i in range(0, len(items), 15)]
        rows = [row for p in pending for row in p.result()]
        full = remote.score_many(items[:3])
    assert rows == expected
    assert len({r.cells for r in rows}) > 10  # not all alike: the comparison means something
    assert full == local_scorer.score_many(items[:3])


def test_another_harness_version_is_refused_before_grading(cluster: str, spec: ScorerSpec,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dd, "__version__", "9.9.9")  # the driver's version differs from the workers'
    with pytest.raises(DaskError, match=r"run\(s\) harness 0\.\d+\.\d+\S*, this machine 9\.9\.9"), \
            open_dask(parse_address(cluster), spec):
        pytest.fail("no scorer may be handed out")


def test_a_worker_that_cannot_build_the_scorer_stops_the_run_before_grading(cluster: str,
                                                                           spec: ScorerSpec) -> None:
    broken = ScorerSpec(spec.bank, "no-such-embedder", spec.calibration)
    with pytest.raises(EmbedderError, match="unknown embedder 'no-such-embedder'"), \
            open_dask(parse_address(cluster), broken):
        pytest.fail("no scorer may be handed out")
