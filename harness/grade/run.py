"""One `grade` run: a submissions file + a bank -> a complete output folder.

`grade_file` is the library entry point `harness grade` and the benchmark
call: it opens the submissions, loads the scorer and grades into a new run
folder. `run_grading` does the grading proper: it streams the answers
through `grader.grade_cohort`, writing scores.csv as it goes into a
`RunFolder`, then students.csv, questions.csv, run.json and report.md (the
cohort report, the same text `harness report --scores RUN --format md`
prints), and renames the folder into place only when all are written.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from harness import __version__
from harness.grade.anchors import anchor_run, read_anchors
from harness.grade.grader import BatchScorer, GradingCounts, Progress, ScorerLike, grade_cohort
from harness.grade.mapping import ColumnMapping, MapRequest
from harness.grade.outputs import (
    OUTPUT_FILES,
    ReviewRows,
    RunFolder,
    ScoresWriter,
    run_facts,
    write_questions,
    write_run_json,
    write_students,
)
from harness.grade.submissions import DEFAULT_CHUNK, Submissions, open_submissions
from harness.grade.tally import CohortStats, CohortTally
from harness.types import Bank

if TYPE_CHECKING:
    from harness.encoders.cache import CachingEncoder
    from harness.grade.anchors import TeacherAnchors
    from harness.grade.distributed import DaskScorer
    from harness.grade.submissions import Answer
    from harness.grade.tally import Graded
    from harness.scoring.anchors import TeacherGrade
    from harness.scoring.scorer import Scorer


class ScoreSink(Protocol):
    """A writer of graded rows: scores.csv, scores.parquet."""

    def __call__(self, rows: list[tuple[Answer, Graded]]) -> None: ...

    def close(self) -> None: ...


class RunExtra(ScoreSink, Protocol):
    """A sink that also writes files of its own into the run folder before run.json."""

    def finish(self, folder: RunFolder) -> tuple[tuple[str, ...], dict[str, Any]]:
        """Write its files: (their names, fields for run.json)."""
        ...


@dataclass(frozen=True)
class GradeRun:
    """A finished run: where it is and what it found (`mean`: the mean of the people's means).

    `columns` says how the file's columns were read (see `grade.mapping`).
    """

    out_dir: Path
    counts: GradingCounts
    questions: int
    people: int
    mean: float
    problems: tuple[str, ...]
    columns: ColumnMapping
    notes: tuple[str, ...] = ()  # what the run folder tidied up after killed runs (RunFolder.notes)
    outputs: tuple[str, ...] = OUTPUT_FILES
    anchors: Mapping[str, Any] | None = None  # run.json's `anchors` (teacher grades used)
    suggested: Mapping[str, Any] | None = None  # run.json's `suggested_anchors` (anchors-to-grade.csv)
    to_review: int = 0  # answers the scorer flagged for review (scores.csv `review`, report.md lists them)


def grade_file(path: Path, *, bank: Bank | Path | None = None, embedder: str | CachingEncoder = "use-multilingual",
               out: Path | None = None, results_dir: Path | None = None, calibration: Path | None = None,
               layout: Literal["auto", "long", "wide"] = "auto", strict: bool = False,
               chunk_size: int = DEFAULT_CHUNK, lang: str = "en", request: MapRequest | None = None,
               progress: Callable[[Progress], None] | None = None,
               on_columns: Callable[[ColumnMapping], None] | None = None,
               dask: str | None = None, parquet: bool = False, anchors: Path | None = None,
               suggest_anchors: int = 0) -> GradeRun:
    """Grade the submissions file (CSV, or `.parquet` in the long layout) at `path` into a new run folder.

    `bank` is a loaded bank or its folder (default: the bundled one);
    `embedder` a name or an encoder (wrapped in a `ReusingEncoder` unless it
    is one); `out` the new folder (default: a time-stamped `grade-*` folder
    under `results_dir`). `request` holds `--map` / `--questions` (see
    `grade.mapping`); `on_columns` hears how the columns were read as soon as
    the file is opened. `progress` hears a "loading" report before the
    scorer loads, a "grading" report with 0 answers when grading starts, then
    reports as answers are graded. The file is checked before the model loads.
    `dask` scores on a Dask cluster (`tcp://host:8786`, `local[:N]`; see
    `grade.distributed`); `parquet` also writes scores.parquet. `anchors` is
    a file of teacher grades that correct each question's scores
    (`grade.anchors`); `suggest_anchors` K writes anchors-to-grade.csv, K
    answers per question for the teacher to grade (`grade.suggest`).

    Raises:
        HarnessError: a bad bank, submissions file, anchors file, embedder, calibration or output
            folder (InputFileError, OutputError, ...); in strict mode the first bad row; with `dask`,
            a cluster that cannot be reached or whose workers cannot score (DaskError).

    """
    from harness.bank.loader import load_bank
    from harness.paths import default_results_dir

    if not isinstance(bank, Bank):
        bank = load_bank(bank)
    subs = open_submissions(path, bank, layout=None if layout == "auto" else layout, strict=strict,
                            request=request)
    if on_columns is not None:
        on_columns(subs.mapping)
    teacher = _read_anchors(anchors, subs, layout, request)
    results = results_dir or default_results_dir()
    folder = RunFolder(out) if out else RunFolder.in_results(results)
    with ExitStack() as stack:
        try:
            tell_stage(progress, "loading", subs)
            scorer, batches = open_scorer(stack, dask, bank, embedder, calibration=calibration,
                                          results_dir=results, anchors=teacher)
            extra = anchor_run(scorer, teacher, suggest_anchors, bank)
        except BaseException:
            folder.discard()
            raise
        settings = {"layout": layout, "strict": strict, "chunk_size": chunk_size, "lang": lang,
                    **_more_settings(request, batches), "anchors": str(anchors) if anchors else None,
                    "suggest_anchors": suggest_anchors}
        tell_stage(progress, "grading", subs)
        return run_grading(subs, scorer, folder=folder, chunk_size=chunk_size, progress=progress,
                           settings=settings, lang=lang, batches=batches, parquet=parquet, extra=extra)


def _read_anchors(path: Path | None, subs: Submissions, layout: str,
                  request: MapRequest | None) -> TeacherAnchors | None:
    """The teacher's grades, checked against the submissions before any model loads.

    Raises:
        InputFileError: as `grade.anchors.read_anchors`.
    """
    if path is None:
        return None
    return read_anchors(path, submissions=subs.path, bank=subs.bank, layout=None if layout == "auto" else layout,
                        request=request)


def _more_settings(request: MapRequest | None, cluster: DaskScorer | None) -> dict[str, Any]:
    """run.json's settings for `--map` / `--questions`, and for `--dask` when given."""
    return {"map": [f"{c}={q}" for c, q in request.columns] if request else [],
            "questions": list(request.questions) if request else [], **dask_settings(cluster)}


def dask_settings(cluster: DaskScorer | None) -> dict[str, Any]:
    """run.json's `settings.dask` (the cluster's address and workers) when scoring on one, else nothing."""
    return {} if cluster is None else {"dask": {"address": cluster.address, "workers": cluster.workers}}


def open_scorer(stack: ExitStack, dask: str | None, bank: Bank, embedder: str | CachingEncoder, *,
                calibration: Path | None, results_dir: Path,
                anchors: TeacherAnchors | None = None) -> tuple[Scorer | DaskScorer, DaskScorer | None]:
    """The scorer here, or the cluster at `dask` (open until `stack` closes), which also scores the batches.

    `harness grade` and `harness regrade` both score through it.

    On a cluster the calibration is found here and sent to the workers with the bank and the anchors.

    Raises:
        HarnessError: as `grade_file`.
    """
    grades = anchors.grades if anchors else ()
    if dask is None:
        return load_scorer(bank, embedder, calibration=calibration, results_dir=results_dir, anchors=grades), None
    from harness.encoders import canonical_name
    from harness.grade.distributed import ScorerSpec, open_dask, parse_address

    address = parse_address(dask)
    from harness.scoring.calibration import resolve

    name = canonical_name(embedder if isinstance(embedder, str) else embedder.name)
    cal = resolve(name, path=calibration, results_dir=results_dir)
    if grades:
        from harness.scoring.anchors import anchor_prior

        anchor_prior(cal)  # before the cluster starts
    remote = stack.enter_context(open_dask(address, ScorerSpec(bank, name, cal, anchors=grades)))
    return remote, remote


def tell_stage(progress: Callable[[Progress], None] | None, stage: Literal["loading", "grading"],
               subs: Submissions) -> None:
    """Tell `progress` that the scorer starts loading, or that grading starts (0 answers so far)."""
    if progress is not None:
        progress(Progress(0, 0, subs.size, 0.0, stage=stage))


def load_scorer(bank: Bank, embedder: str | CachingEncoder, *, calibration: Path | None = None,
                results_dir: Path | None = None, anchors: Sequence[TeacherGrade] = ()) -> Scorer:
    """The scorer `harness grade` uses: the embedder behind a `ReusingEncoder`, warmed up.

    `anchors` are teacher grades the scorer corrects its questions with.

    Raises:
        EmbedderError: the embedder cannot be had.
        CalibrationError: no calibration fits it.

    """
    from harness.encoders import get_encoder
    from harness.encoders.reuse import ReusingEncoder
    from harness.scoring.scorer import Scorer

    encoder = get_encoder(embedder) if isinstance(embedder, str) else embedder
    reusing = encoder if isinstance(encoder, ReusingEncoder) else ReusingEncoder(encoder)
    scorer = Scorer.load(bank, encoder=reusing, calibration_path=calibration, results_dir=results_dir,
                         anchors=anchors)
    scorer.warm_up()
    return scorer


def run_grading(subs: Submissions, scorer: ScorerLike, *, folder: RunFolder,
                chunk_size: int = DEFAULT_CHUNK, progress: Callable[[Progress], None] | None = None,
                settings: dict[str, Any] | None = None, lang: str = "en",
                batches: BatchScorer | None = None, parquet: bool = False,
                record_extra: Mapping[str, Any] | None = None, extra: RunExtra | None = None) -> GradeRun:
    """Grade `subs` into `folder` and move the folder into place.

    `batches` scores elsewhere (a Dask cluster; default: `scorer` in this
    process); `parquet` writes scores.parquet beside scores.csv. On any
    error (or Ctrl-C) the temporary folder is deleted, so no partial run is
    left looking complete; only a finished run whose folder cannot be moved
    into place is kept (the error names it). `record_extra` is merged into
    run.json (mappings key by key), say to record where a regraded run's
    answers came from. `extra` sees every graded row and writes its own
    files before run.json (teacher anchors: `grade.anchors.AnchorRun`).

    Raises:
        InputFileError: in strict mode at the first bad row, or if no row can be graded.
        OutputError: the folder cannot be written (disk full, ...) or moved into place.

    """
    from harness.report.cohort import cohort_report, review_table
    from harness.report.cohort_layout import REVIEW_SHOWN
    from harness.report.render import render

    started = datetime.now(timezone.utc)
    outputs = (*OUTPUT_FILES, *(["scores.parquet"] if parquet else []))
    with folder:
        tally = CohortTally()
        review = ReviewRows(keep=REVIEW_SHOWN)
        writers = [*_score_writers(folder, subs.extra_names, parquet=parquet), review] + ([extra] if extra else [])

        def sink(rows: list[tuple[Answer, Graded]]) -> None:
            for writer in writers:
                writer(rows)

        try:
            counts = grade_cohort(subs, scorer, tally=tally, sink=sink, chunk_size=chunk_size, progress=progress,
                                  batches=batches)
        finally:
            for writer in writers:
                writer.close()
        stats = tally.stats()
        bank = subs.bank
        write_students(folder / "students.csv", stats, topics=[t for t in bank.topics if t in stats.topics])
        write_questions(folder / "questions.csv", stats, bank=bank)
        more_files, more_record = extra.finish(folder) if extra else ((), {})
        outputs = (*outputs, *more_files)
        record = _merged(_run_record(subs, scorer, counts, started=started, settings=settings or {}, stats=stats,
                                     outputs=outputs), {**more_record, **(record_extra or {})})
        write_run_json(folder / "run.json", record)
        facts = run_facts(record, folder=folder.target.name)
        report = cohort_report(stats, bank=bank, now=facts.finished, run=facts, source=facts.folder,
                               to_review=review_table(review.frame()), review_total=review.count)
        (folder / "report.md").write_text(render(report, "md", lang=lang), encoding="utf-8", newline="")
        out = folder.commit()
    return GradeRun(out, counts, len(stats.questions), len(stats.people), report.mean, facts.problems,
                    subs.mapping, folder.notes, outputs, more_record.get("anchors"),
                    more_record.get("suggested_anchors"), report.review_total)


def _score_writers(folder: RunFolder, extra_names: tuple[str, ...], *, parquet: bool) -> list[ScoreSink]:
    writers: list[ScoreSink] = [ScoresWriter(folder / "scores.csv", extra_names)]
    if parquet:
        from harness.grade.parquet import ParquetScoresWriter

        writers.append(ParquetScoresWriter(folder / "scores.parquet", extra_names))
    return writers


def _run_record(subs: Submissions, scorer: ScorerLike, counts: GradingCounts, *, started: datetime,
                settings: dict[str, Any], stats: CohortStats, outputs: tuple[str, ...]) -> dict[str, Any]:
    bank = subs.bank
    rubric_versions = {q: bank.rubrics[q].version_id for q in bank.questions if q in stats.topic_of}
    # The prompt is scored too (an answer's similarity to it), so a progress report compares it as well.
    prompt_hashes = {q: hashlib.sha256(bank.questions[q].prompt.encode()).hexdigest()[:12] for q in rubric_versions}
    mean = float(stats.overall.mean()) if len(stats.people) else 0.0
    return {
        "command": "grade",
        "harness_version": __version__,
        "python": platform.python_version(),
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "inputs": {
            "submissions": {
                "path": str(subs.path.resolve()), "sha256": subs.sha256(), "bytes": subs.size,
                "encoding": subs.format.encoding, "delimiter": subs.format.delimiter,
                "layout": subs.layout, "extra_columns": list(subs.extra_names),
            },
            "columns": subs.mapping.as_json(),
            "bank": {"root": str(Path(bank.root).resolve()), "version": bank.version,
                     "questions": len(bank.questions), "rubric_versions": rubric_versions,
                     "prompt_hashes": prompt_hashes},
        },
        "embedder": scorer.embedder_id,
        "calibration": scorer.calibration_id,
        "settings": settings,
        "counts": {**asdict(counts), "questions": len(stats.questions), "people_graded": len(stats.people),
                   "rows": asdict(subs.counts())},
        "mean_score": round(mean, 2),
        "outputs": list(outputs),
        "problems": [str(p) for p in subs.problems.kept],
        "problems_not_listed": subs.problems.count - len(subs.problems.kept),
    }


def _merged(record: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`record` with `extra`'s fields put in; a mapping in both is merged key by key."""
    out = dict(record)
    for key, value in extra.items():
        old = out.get(key)
        out[key] = _merged(old, value) if isinstance(old, dict) and isinstance(value, Mapping) else value
    return out
