"""Grading on a Dask LocalCluster of 2 worker processes: same scores as in-process, clear refusals."""

from __future__ import annotations

import csv
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grade_helpers import GRADE_DATA, tiny_bank

from harness.errors import EmbedderError
from harness.grade import distributed as dd
from harness.grade import grader as grader_module
from harness.grade.distributed import DaskError, ScorerSpec, open_dask, parse_address
from harness.grade.grader import Progress, compact
from harness.grade.run import grade_file
from harness.scoring.calibration import resolve
from harness.scoring.scorer import Scorer
from harness.types import Bank

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(session_cache: Path) -> Iterator[str]:
    """A scheduler and 2 worker processes for the module; workers use the tests' embedding cache."""
    distributed = pytest.importorskip("distributed")
    with dd._environ_kept(), distributed.LocalCluster(  # OMP_NUM_THREADS=1 for the workers, not for other tests
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR,
            env={"HARNESS_CACHE": str(session_cache)}) as c:
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


# --- whole runs: grade_file on the cluster against grade_file in this process -----------------------

TABLES = ("scores.csv", "students.csv", "questions.csv")


def _cohort(path: Path, bank: Bank, people: int = 60) -> Path:
    """A long cohort over the tiny bank: common answers, personal ones, blanks."""
    items = _items(bank, 45)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["student_id", "question_id", "answer", "group"])
        for p in range(people):
            for k, qid in enumerate(bank.questions):
                pick = [t for q, t in items if q == qid][(p * 7 + k) % 15]
                text = "" if (p + k) % 17 == 0 else pick if p % 4 else f"{pick}，我觉得是{p}"
                out.writerow([f"学生{p:03d}", qid, text, f"g{p % 3}"])
    return path


def _table(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def assert_same_tables(run: Path, expected: Path) -> None:
    """The three CSVs match cell by cell; numbers to within 1e-6."""
    for name in TABLES:
        got, want = _table(run / name), _table(expected / name)
        assert len(got) == len(want) and got[0] == want[0], name
        for g_row, w_row in zip(got, want):
            for g, w in zip(g_row, w_row, strict=True):
                try:
                    assert abs(float(g) - float(w)) <= 1e-6, (name, g_row[:2])
                except ValueError:
                    assert g == w, (name, g_row[:2])


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory, spec: ScorerSpec) -> Path:
    return _cohort(tmp_path_factory.mktemp("cohort") / "cohort.csv", spec.bank)


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory, cohort: Path, use_encoder: Any) -> Path:
    """The cohort graded the ordinary way, in this process."""
    out = tmp_path_factory.mktemp("runs") / "here"
    grade_file(cohort, bank=GRADE_DATA / "bank", embedder=use_encoder, out=out)
    return out


def test_a_dask_run_writes_what_an_in_process_run_writes(cluster: str, cohort: Path, in_process: Path,
                                                         tmp_path: Path) -> None:
    run = grade_file(cohort, bank=GRADE_DATA / "bank", out=tmp_path / "dask", dask=cluster, parquet=True)
    assert_same_tables(run.out_dir, in_process)
    header, *rows = _table(run.out_dir / "scores.csv")
    assert len({row[header.index("score")] for row in rows}) > 10  # the scores differ: the comparison means something
    record = json.loads((run.out_dir / "run.json").read_text(encoding="utf-8"))
    here = json.loads((in_process / "run.json").read_text(encoding="utf-8"))
    assert record["settings"]["dask"] == {"address": cluster, "workers": 2}
    assert (record["embedder"], record["calibration"], record["counts"]["answers"]) == (
        here["embedder"], here["calibration"], here["counts"]["answers"])
    assert record["outputs"] == [*here["outputs"], "scores.parquet"]
    assert run.counts.scored == here["counts"]["scored"]


def test_a_worker_killed_mid_run_costs_only_its_batches(cluster: str, cohort: Path, in_process: Path,
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import signal

    import distributed

    monkeypatch.setattr(grader_module, "MIN_BATCH", 8)  # many small batches, so some are in flight at the kill
    killed: list[str] = []
    with distributed.Client(cluster, set_as_default=False) as watcher:
        pids = watcher.run(os.getpid)

        def kill_a_busy_worker(p: Progress) -> None:
            if killed or p.stage != "grading" or not p.answers:
                return
            busy = [w for w, keys in watcher.processing().items() if keys]
            if busy:
                killed.append(busy[0])
                os.kill(pids[busy[0]], signal.SIGKILL)

        run = grade_file(cohort, bank=GRADE_DATA / "bank", out=tmp_path / "dask", dask=cluster, chunk_size=20,
                         progress=kill_a_busy_worker)
        assert killed, "no batch was in flight after the first was collected; the test proves nothing"
        watcher.wait_for_workers(2, timeout=60)  # the nanny restarts it, for the tests after this one
    assert_same_tables(run.out_dir, in_process)


def test_an_unreachable_scheduler_writes_nothing(cohort: Path, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(DaskError, match=f"cannot reach a Dask scheduler at tcp://127.0.0.1:{port} within 5 s"):
        grade_file(cohort, bank=GRADE_DATA / "bank", out=tmp_path / "runs" / "out", dask=f"127.0.0.1:{port}")
    assert time.monotonic() - start < 10
    assert not any((tmp_path / "runs").iterdir())


def test_the_cli_grades_on_a_local_cluster(cohort: Path, in_process: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    import os

    from harness.cli import main

    before = os.environ.get("OMP_NUM_THREADS")
    main(["grade", str(cohort), "--bank", str(GRADE_DATA / "bank"), "--out", str(tmp_path / "run"),
          "--dask", "local:1", "--parquet", "--quiet"])
    assert capsys.readouterr().out == f"{tmp_path / 'run'}\n"
    assert_same_tables(tmp_path / "run", in_process)
    assert (tmp_path / "run" / "scores.parquet").is_file()
    record = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert record["settings"]["dask"] == {"address": "local:1", "workers": 1}
    assert os.environ.get("OMP_NUM_THREADS") == before  # the local cluster's setting stays with its workers


def test_a_run_regraded_on_the_cluster_matches_it(cluster: str, in_process: Path, tmp_path: Path) -> None:
    """`regrade --dask`: the same bank and scorer on the workers give the run's own tables back."""
    from harness.grade.regrade import regrade

    run = regrade(in_process, bank=GRADE_DATA / "bank", out=tmp_path / "again", dask=cluster, parquet=True)
    assert_same_tables(run.out_dir, in_process)
    assert _table(run.out_dir / "scores.csv")[0] == _table(in_process / "scores.csv")[0]  # nothing hidden shows
    record = json.loads((run.out_dir / "run.json").read_text(encoding="utf-8"))
    assert record["command"] == "regrade" and record["settings"]["dask"] == {"address": cluster, "workers": 2}
    assert "scores.parquet" in record["outputs"] and (run.out_dir / "scores.parquet").is_file()


def test_teacher_anchors_on_the_cluster_do_what_they_do_here(cluster: str, cohort: Path, use_encoder: Any,
                                                             tmp_path: Path) -> None:
    """Workers get the grades as data and fit the same correction; the answers to grade next are the same."""
    from dataclasses import replace

    from harness.scoring.anchors import AnchorPrior
    from harness.scoring.calibration import save

    prior = AnchorPrior(offset=0.005, slope=0.15, similar=0.035, length=0.27, noise=0.0014)
    cal = tmp_path / "cal.npz"
    shipped = resolve("use-multilingual")
    save(replace(shipped, extra={**shipped.extra, "anchor_prior": prior.as_json()}), cal)
    with cohort.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["answer"]][:40:4]
    graded = tmp_path / "graded.csv"
    with graded.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["student_id", "question_id", "answer", "human_score", "human_score_max"])
        out.writerows([r["student_id"], r["question_id"], r["answer"], i % 5, 4] for i, r in enumerate(rows))
    kw: dict[str, Any] = {"bank": GRADE_DATA / "bank", "calibration": cal, "anchors": graded, "suggest_anchors": 2}
    here = grade_file(cohort, embedder=use_encoder, out=tmp_path / "here", **kw)
    there = grade_file(cohort, out=tmp_path / "dask", dask=cluster, **kw)
    assert_same_tables(there.out_dir, here.out_dir)
    suggested = _table(here.out_dir / "anchors-to-grade.csv")
    assert len(suggested) > 2 and _table(there.out_dir / "anchors-to-grade.csv") == suggested
    assert there.anchors == here.anchors and here.anchors and here.anchors["count"] == len(rows)
