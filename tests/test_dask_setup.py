"""Grading on Dask, before any grading: addresses, a missing extra, unfit workers, no scheduler."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from grade_helpers import GRADE_DATA

from harness import __version__
from harness.grade import distributed as dd
from harness.grade.distributed import DaskAddress, DaskError, ScorerSpec, open_dask, parse_address
from harness.types import Bank


@pytest.mark.parametrize(("text", "expected"), [
    ("tcp://10.0.0.5:8786", DaskAddress("tcp://10.0.0.5:8786")),
    ("  tcp://sched.example.org:8786 ", DaskAddress("tcp://sched.example.org:8786")),
    ("sched:8786", DaskAddress("tcp://sched:8786")),
    ("tls://sched:8786", DaskAddress("tls://sched:8786")),
    ("local:3", DaskAddress(None, 3)),
])
def test_addresses(text: str, expected: DaskAddress) -> None:
    assert parse_address(text) == expected


def test_local_means_a_worker_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dd.os, "cpu_count", lambda: 6)
    assert parse_address("local") == DaskAddress(None, 6)
    assert str(parse_address("local")) == "local:6"


@pytest.mark.parametrize("text", ["", "local:0", "local:x", "http://sched:8786", "sched", "tcp://sched:99999",
                                  "tcp://sched:8786/path"])
def test_bad_addresses_say_what_is_accepted(text: str) -> None:
    with pytest.raises(DaskError) as exc:
        parse_address(text)
    assert f"--dask {text!r}" in str(exc.value)
    assert "tcp://HOST:8786" in str(exc.value) or "at least 1 worker" in str(exc.value)


def _spec() -> ScorerSpec:
    return ScorerSpec(Bank(Path("."), {}, {}, "0"), "use-multilingual", None)  # type: ignore[arg-type]


def test_without_the_extra_it_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed: importing it fails
    with pytest.raises(DaskError) as exc, open_dask(DaskAddress("tcp://127.0.0.1:8786"), _spec()):
        pass
    assert str(exc.value) == ("--dask needs Dask's distributed scheduler, which is not installed; "
                              "run: pip install 'interview-harness[dask]'")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_an_unreachable_scheduler_fails_within_seconds() -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    start = time.monotonic()
    with pytest.raises(DaskError) as exc, open_dask(parse_address(address), _spec(), connect_timeout=2):
        pass
    assert time.monotonic() - start < 8
    assert str(exc.value).startswith(f"cannot reach a Dask scheduler at {address} within 2 s; start one there "
                                     f"with `dask scheduler` and workers with `dask worker {address}`")


SAME = "same"  # a worker that runs this machine's harness


class FakeClient:
    """What `_check_workers` asks of a Client: waiting for workers, running a probe on each.

    `workers` maps an address to SAME, None (no harness) or the (version, code digest) it reports.
    """

    def __init__(self, workers: dict[str, Any], *, joined: bool = True) -> None:
        self.workers, self.joined = workers, joined
        self.here: Any = None

    def wait_for_workers(self, n: int, timeout: float | None = None) -> None:
        if not self.joined:
            raise TimeoutError

    def run(self, function: Any) -> dict[str, Any]:
        self.here = function()  # the probe itself runs here, in a process with the harness
        return {w: self.here if v == SAME else v for w, v in self.workers.items()}


def test_workers_with_this_harness_pass() -> None:
    client = FakeClient({"tcp://a:1": SAME, "tcp://b:1": SAME})
    assert dd._check_workers(client, DaskAddress("tcp://s:8786")) == 2  # type: ignore[arg-type]
    version, digest = client.here
    assert version == __version__ and len(digest) == 16


def test_workers_without_the_harness_are_named() -> None:
    client = FakeClient({"tcp://a:1": SAME, "tcp://b:1": None, "tcp://c:1": None})
    with pytest.raises(DaskError) as exc:
        dd._check_workers(client, DaskAddress("tcp://s:8786"))  # type: ignore[arg-type]
    assert str(exc.value) == (
        "the Dask worker at tcp://b:1 and 1 more cannot import the harness; install it there "
        f"(pip install 'interview-harness[dask]', version {__version__}) and start the workers again")


def test_workers_of_another_version_are_named() -> None:
    client = FakeClient({"tcp://a:1": SAME, "tcp://b:1": ("0.0.1", "0123456789abcdef")})
    with pytest.raises(DaskError) as exc:
        dd._check_workers(client, DaskAddress("tcp://s:8786"))  # type: ignore[arg-type]
    assert str(exc.value) == (f"the Dask worker at tcp://b:1 run(s) harness 0.0.1, this machine {__version__}; "
                              "install the same version on every worker so the scores agree")


def test_workers_with_other_code_of_this_version_are_named() -> None:
    """Another checkout of the same version (say, one without Dask support) must not score."""
    client = FakeClient({"tcp://a:1": SAME, "tcp://b:1": (__version__, "0123456789abcdef")})
    with pytest.raises(DaskError) as exc:
        dd._check_workers(client, DaskAddress("tcp://s:8786"))  # type: ignore[arg-type]
    assert str(exc.value) == (
        f"the Dask worker at tcp://b:1 run(s) harness {__version__} but not the same code as this machine "
        "(another checkout, or a change made here); install this machine's harness on every worker so the "
        "scores agree")


def test_a_scheduler_without_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DaskError) as exc:
        dd._check_workers(FakeClient({}, joined=False), DaskAddress("tcp://s:8786"))  # type: ignore[arg-type]
    assert str(exc.value) == ("no Dask worker joined the scheduler at tcp://s:8786 within 30 s; "
                              "start them with `dask worker tcp://s:8786` on each machine")


def test_the_version_probe_runs_where_the_harness_is_missing() -> None:
    """The probe is sent by value: a worker without the harness can run it, and it says so."""
    import subprocess

    import cloudpickle

    captured: list[Any] = []
    client = FakeClient({"tcp://a:1": SAME})
    run = client.run
    client.run = lambda function: captured.append(function) or run(function)  # type: ignore[method-assign]
    dd._check_workers(client, DaskAddress("tcp://s:8786"))  # type: ignore[arg-type]
    worker = ("import sys, cloudpickle; sys.modules['harness'] = None; "  # as on a worker without the harness
              "print(cloudpickle.loads(sys.stdin.buffer.read())())")
    done = subprocess.run([sys.executable, "-c", worker], input=cloudpickle.dumps(captured[0]),
                          capture_output=True, check=True)
    assert done.stdout.decode().strip() == "None"


# --- the command line ------------------------------------------------------------------------------


def _cli(*args: str | Path) -> tuple[int, str, str]:
    import contextlib
    import io

    from harness.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_grade_help_offers_dask_and_parquet() -> None:
    code, out, _ = _cli("grade", "--help")
    out = " ".join(out.split())  # as wrapped to any width
    assert code == 0
    assert "--dask ADDRESS" in out and "pip install 'interview-harness[dask]'" in out and "--parquet" in out


def test_grade_dask_without_the_extra_names_it_and_writes_nothing(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    code, out, err = _cli("grade", GRADE_DATA / "long.csv", "--bank", GRADE_DATA / "bank", "--out",
                          tmp_path / "runs" / "out", "--dask", "local:2", "--quiet")
    assert (code, out) == (1, "")
    assert err == ("Error: --dask needs Dask's distributed scheduler, which is not installed; "
                   "run: pip install 'interview-harness[dask]'\n")
    assert not any((tmp_path / "runs").iterdir())


def test_grade_dask_with_a_bad_address(tmp_path: Path) -> None:
    code, _, err = _cli("grade", GRADE_DATA / "long.csv", "--bank", GRADE_DATA / "bank", "--out", tmp_path / "out",
                        "--dask", "http://x:1")
    assert code == 1 and err.startswith("Error: --dask 'http://x:1': give a scheduler address (tcp://HOST:8786")
    assert not (tmp_path / "out").exists()


class SlowFuture:
    """A future that finishes just as a poll times out (the race `_wait` must survive), or fails."""

    def __init__(self, outcome: object, polls: int = 1) -> None:
        self.outcome, self.polls = outcome, polls

    def done(self) -> bool:
        return self.polls < 0

    def result(self, timeout: float | None = None) -> object:
        if timeout is not None and self.polls >= 0:
            self.polls -= 1
            raise TimeoutError("timed out after 5 s.")
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class Scheduler:
    def __init__(self, workers: int) -> None:
        self.workers = workers

    def scheduler_info(self) -> dict[str, Any]:
        return {"workers": {f"tcp://w{i}:1": {} for i in range(self.workers)}}


def test_a_batch_that_finishes_as_the_poll_times_out_is_collected() -> None:
    assert dd._wait(SlowFuture(["rows"], polls=2), Scheduler(2)) == ["rows"]  # type: ignore[arg-type]


def test_dask_failures_are_named() -> None:
    from distributed import KilledWorker

    with pytest.raises(DaskError, match="running on each of several Dask workers as they died"):
        dd._wait(SlowFuture(KilledWorker("batch-1", SimpleNamespace(address="tcp://w:1"), 3)), Scheduler(2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="the scorer's own error"):  # a batch's own error is passed on
        dd._wait(SlowFuture(ValueError("the scorer's own error")), Scheduler(2))  # type: ignore[arg-type]


def test_a_cluster_left_without_workers_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(0, 1000, 100))
    monkeypatch.setattr(dd.time, "monotonic", lambda: float(next(clock)))
    with pytest.raises(DaskError, match="every Dask worker has left for 120 s"):
        dd._wait(SlowFuture(["rows"], polls=10), Scheduler(0))  # type: ignore[arg-type]


def test_a_local_cluster_leaves_this_process_environment_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    with dd._environ_kept():
        dd.os.environ.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})  # as Dask's nannies do
    assert (dd.os.environ["OMP_NUM_THREADS"], dd.os.environ.get("MKL_NUM_THREADS")) == ("3", None)


@pytest.mark.parametrize(("given", "expected"), [("1", 1), ("3", 3), ("", 2), ("0", 2), ("x", 2)])
def test_the_embedder_takes_dask_workers_one_blas_thread(monkeypatch: pytest.MonkeyPatch, given: str,
                                                         expected: int) -> None:
    """A Dask worker process gets OMP_NUM_THREADS=1: one worker per core, not each on every core."""
    from harness.encoders import use_enc

    monkeypatch.setenv("OMP_NUM_THREADS", given)
    monkeypatch.setattr(use_enc.os, "cpu_count", lambda: 2)
    assert use_enc._default_threads() == expected
