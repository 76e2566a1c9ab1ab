"""The runs a progress report compares: their scores read back, and how each was scored.

`load_runs` reads each run (its folder or its scores.csv, in chunks into a
tally, so memory does not grow with the run) and its run.json.
`scoring_of` takes from run.json what decides a score's scale: the embedder,
the calibration, teacher anchors (when a run has them), and per question the
rubric's version id (its declared version and content hash) and the prompt's
hash. `differences` compares every run with the latest one and names each
thing that differs, so a progress report never compares scores from
different scorers without saying so. A run without run.json was scored in an
unknown way, and says so too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.errors import InputFileError
from harness.grade.outputs import RunFacts, checked_run_facts, read_run_record
from harness.grade.schema import SCORES
from harness.grade.tally import CohortTally
from harness.report.cohort import tally_file
from harness.types import Bank

NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class Scoring:
    """What a run's scores depend on, from its run.json; `known` is False without one."""

    known: bool
    bank_version: str = ""
    embedder: str = ""
    calibration: str = ""
    anchors: str = "none"
    rubrics: Mapping[str, str] | None = None
    prompts: Mapping[str, str] | None = None


@dataclass(frozen=True, eq=False)
class RunScores:
    """One run read back: a label (its folder's name), its scores' tally, run.json facts and scoring.

    `topics` is each question's topic as the run's scores.csv gives it.
    """

    label: str
    path: Path
    facts: RunFacts | None
    record: Mapping[str, Any]
    scoring: Scoring
    tally: CohortTally
    topics: Mapping[str, str]
    skipped: int

    @property
    def answered(self) -> datetime | None:
        """When its answers were first graded (for a regraded run, the run it regraded); None if unknown."""
        source = self.record.get("regraded_from")
        if isinstance(source, Mapping) and source.get("finished"):
            try:
                return datetime.fromisoformat(str(source["finished"]))
            except ValueError:
                return None
        return self.facts.finished if self.facts else None

    @property
    def regraded_from(self) -> str:
        """The folder of the run whose answers this one regraded ("" if it was graded from submissions)."""
        source = self.record.get("regraded_from")
        return Path(str(source.get("run", ""))).name if isinstance(source, Mapping) else ""


@dataclass(frozen=True)
class Difference:
    """One way `run` was scored differently from the latest run, `against`.

    `what` is embedder, calibration, anchors, rubric or prompt (`item` is the
    question id), unknown (a run without run.json), or bank (a note: the bank
    changed, but not the rubrics and prompts of the questions both runs asked).
    """

    run: str
    against: str
    what: str
    item: str
    value: str
    latest: str

    @property
    def scoring(self) -> bool:
        """True when this difference can change scores (everything but a bank note)."""
        return self.what != "bank"


@dataclass(frozen=True, eq=False)
class OpenRun:
    """A run found and its run.json read; its scores are read by `read_runs`."""

    path: Path
    folder: Path
    record: Mapping[str, Any] | None
    facts: RunFacts | None


def open_runs(paths: Sequence[Path]) -> tuple[OpenRun, ...]:
    """Each run at `paths` (folders or scores.csv files), with its run.json, in the order given.

    Raises:
        InputFileError: a missing run, the same run twice, or a bad run.json.

    """
    runs: list[OpenRun] = []
    seen: dict[Path, Path] = {}
    for path in paths:
        if not path.exists():
            raise InputFileError(f"{path}: not found; give RUN_DIR or RUN_DIR/scores.csv of a `harness grade` run")
        file = (path / SCORES.file if path.is_dir() else path).resolve()
        if file in seen:
            raise InputFileError(f"{path}: the same run as {seen[file]}; give each run once, oldest first")
        seen[file] = path
        folder = path if path.is_dir() else path.parent
        record = read_run_record(folder) if path.is_dir() or path.name == SCORES.file else None
        runs.append(OpenRun(path, folder, record, checked_run_facts(record, folder) if record is not None else None))
    return tuple(runs)


def load_runs(paths: Sequence[Path], *, bank: Bank | None = None) -> tuple[RunScores, ...]:
    """Each run at `paths` read back (`open_runs`, then `read_runs`).

    Raises:
        InputFileError: as `open_runs` and `read_runs`.

    """
    return read_runs(open_runs(paths), bank=bank)


def read_runs(runs: Sequence[OpenRun], *, bank: Bank | None) -> tuple[RunScores, ...]:
    """The scores of each run, tallied (`bank` names the ids of old files' labels).

    Raises:
        InputFileError: an unreadable or hand-edited scores.csv (naming file,
            row and column), or a run with no scored rows.

    """
    read = [_read_run(r, bank) for r in runs]
    labels = [r.label for r in read]
    return tuple(_relabel(r, labels, i) for i, r in enumerate(read))


def _read_run(run: OpenRun, bank: Bank | None) -> RunScores:
    topics: dict[str, str] = {}
    tally, chunks = tally_file(run.path, bank=bank,
                               each=lambda f: topics.update(zip(f["question_id"], f["topic"], strict=True)))
    if not tally.answers:
        raise InputFileError(f"{chunks.path}: no scored rows; nothing to compare")
    path, record = run.path, run.record
    label = run.folder.resolve().name if record is not None or path.is_dir() or path.name == SCORES.file \
        else path.stem
    return RunScores(label, chunks.path, run.facts, record or {}, scoring_of(record), tally, topics,
                     chunks.skipped)


def _relabel(run: RunScores, labels: list[str], i: int) -> RunScores:
    """Runs with the same folder name are told apart by their place: `week1 (#2)`."""
    if labels.count(run.label) == 1:
        return run
    return replace(run, label=f"{run.label} (#{i + 1})")


def scoring_of(record: Mapping[str, Any] | None) -> Scoring:
    """What the scores of a run depend on, from its run.json record (None: unknown)."""
    if record is None:
        return Scoring(known=False)
    bank = record.get("inputs", {}).get("bank", {}) if isinstance(record.get("inputs"), Mapping) else {}
    return Scoring(
        known=True,
        bank_version=str(bank.get("version", "")),
        embedder=str(record.get("embedder", "")),
        calibration=str(record.get("calibration", "")),
        anchors=describe_anchors(record.get("anchors")),
        rubrics={str(k): str(v) for k, v in (bank.get("rubric_versions") or {}).items()},
        prompts={str(k): str(v) for k, v in (bank.get("prompt_hashes") or {}).items()} or None,
    )


def describe_anchors(anchors: object) -> str:
    """Teacher anchors as compared: "none", or how many and a hash of their content."""
    if not anchors:
        return "none"
    digest = hashlib.sha256(json.dumps(anchors, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:8]
    count = f"{len(anchors)} entries, " if isinstance(anchors, (list, dict)) else ""
    return f"{count}hash {digest}"


def differences(runs: Sequence[RunScores], questions: Sequence[set[str]]) -> list[Difference]:
    """How each earlier run was scored differently from the latest; `questions[i]` are run i's questions."""
    latest, out = runs[-1], []
    for run, asked in zip(runs[:-1], questions[:-1], strict=True):
        out += _compare(run, latest, sorted(asked & questions[-1]))
    return out


def _compare(run: RunScores, latest: RunScores, shared: list[str]) -> list[Difference]:
    a, b = run.scoring, latest.scoring

    def diff(what: str, item: str, value: str, now: str) -> Difference:
        return Difference(run.label, latest.label, what, item, value, now)

    if not (a.known and b.known):
        return [diff("unknown", "", "no run.json" if not a.known else "run.json",
                     "no run.json" if not b.known else "run.json")]
    out = [diff(name, "", x, y) for name, x, y in (("embedder", a.embedder, b.embedder),
                                                   ("calibration", a.calibration, b.calibration),
                                                   ("anchors", a.anchors, b.anchors)) if x != y]
    for q in shared:
        x, y = (a.rubrics or {}).get(q, NOT_RECORDED), (b.rubrics or {}).get(q, NOT_RECORDED)
        if x != y or x == NOT_RECORDED:
            out.append(diff("rubric", q, x, y))
        if a.prompts is not None and b.prompts is not None and a.prompts.get(q) != b.prompts.get(q):
            out.append(diff("prompt", q, a.prompts.get(q, NOT_RECORDED), b.prompts.get(q, NOT_RECORDED)))
    if a.bank_version != b.bank_version and not any(d.what in ("rubric", "prompt") for d in out):
        out.append(diff("bank", "", a.bank_version, b.bank_version))
    return out
