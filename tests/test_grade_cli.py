"""`harness grade`: output, errors and exit codes; end to end on the eval sets with the real scorer."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from grade_helpers import GRADE_DATA, FakeScorer

LONG = GRADE_DATA / "long.csv"
BANK = GRADE_DATA / "bank"
OUTPUTS = ("scores.csv", "students.csv", "questions.csv", "report.md", "run.json")
Run = Callable[..., tuple[int, str, str]]
# What `grade` prints first, once the file is open: how its columns are read.
COLUMNS_READ = ("Read as: a plain CSV, long layout\n"
                "Student id: 'student_id' (student number, the most unique column)\n")
LONG_COLUMNS_READ = COLUMNS_READ + "Carried through: 'human_score'\n"






def scores(out: Path) -> list[dict[str, str]]:
    with (out / "scores.csv").open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- with a stand-in scorer: fast ------------------------------------------------------------


def test_help(run: Run) -> None:
    code, out, _ = run("grade", "--help")
    assert code == 0
    assert "Usage: harness grade [OPTIONS] SUBMISSIONS" in out
    assert "--strict" in out and "--layout [auto|long|wide]" in out


def test_grade_prints_a_summary(run: Run, fake_scorer: list[FakeScorer], tmp_path: Path) -> None:
    code, out, err = run("grade", LONG, "--bank", BANK, "--out", tmp_path / "run")
    assert (code, err) == (0, "")
    assert out.startswith(LONG_COLUMNS_READ)
    lines = out.removeprefix(LONG_COLUMNS_READ).splitlines()
    assert re.fullmatch(r"Graded 12 answers from 4 people on 3 questions in [\d.]+ s \([\d,.]+ answers/s; "
                        r"9 distinct answers scored, 1 blank\); mean score 63\.9", lines[0]), lines[0]
    assert lines[1:] == [f"Results: {tmp_path / 'run'} ({', '.join(OUTPUTS)})"]
    assert entries(tmp_path / "run") == sorted(OUTPUTS)


def test_quiet_prints_only_the_folder(run: Run, fake_scorer: list[FakeScorer], tmp_path: Path) -> None:
    result = run("grade", LONG, "--bank", BANK, "--out", tmp_path / "run", "--quiet")
    assert result == (0, f"{tmp_path / 'run'}\n", "")


def test_default_folder_is_under_results(run: Run, fake_scorer: list[FakeScorer], tmp_path: Path) -> None:
    code, out, _ = run("grade", LONG, "--bank", BANK, "-q")
    folder = Path(out.strip())
    assert code == 0 and folder.parent == tmp_path / "results"  # $HARNESS_RESULTS, set by conftest
    assert re.fullmatch(r"grade-\d{8}-\d{6}", folder.name)
    code, out2, _ = run("grade", LONG, "--bank", BANK, "-q")
    assert code == 0 and out2 != out  # a second run never reuses the folder


def test_bad_rows_are_warned_about_and_skipped(run: Run, fake_scorer: list[FakeScorer],
                                               tmp_path: Path) -> None:
    path = GRADE_DATA / "unparsable.csv"
    code, out, err = run("grade", path, "--bank", BANK, "--out", tmp_path / "run")
    assert code == 0
    assert err == (
        f"Warning: {path}: row 3: 5 cells but the header has 3; quote answers that contain the "
        "delimiter ','\n"
        f"Warning: {path}: row 4: cannot parse the row as CSV (',' expected after '\"'); check its quotes\n"
    )
    assert "Skipped 2 bad rows (see the warnings above and run.json)" in out
    assert [r["student_id"] for r in scores(tmp_path / "run")] == ["s1", "s4"]


ERRORS = [
    ("missing_column.csv", [], "row 1: missing required column question_id (also accepted: qid, question, "
     "题号, 题目); the header is: student_id,answer; for one column per question use --layout wide"),
    ("unknown_question.csv", ["--strict"], "row 3, column question_id: unknown question id 'clip-ideaa'; "
     "did you mean clip-idea? (without --strict such rows are reported and skipped)"),
    ("duplicate.csv", ["--strict"], "row 4, column student_id: duplicate answer: student 's1' already "
     "answered clip-idea in row 2; the first answer is kept (without --strict such rows are reported and "
     "skipped)"),
    ("unparsable.csv", ["--strict"], "row 3: 5 cells but the header has 3; quote answers that contain the "
     "delimiter ',' (without --strict such rows are reported and skipped)"),
    ("empty.csv", [], "the file is empty; expected a header row and answers"),
    ("header_only.csv", [], "no answers below the header row"),
    ("binary.dat", [], "this is a binary file, not a CSV text file"),
    ("binary.xlsx", [], "this is a binary file (an Excel workbook or other archive), not a CSV text file; "
     "save it as CSV UTF-8 and grade that"),
    ("wide.csv", ["--layout", "long"], "row 1: missing required column question_id (also accepted: qid, "
     "question, 题号, 题目); the header is: 学号,姓名,1. CLIP 的基本思想是什么？（10分）,"
     "What is CLIP's loss function?,vit-patch; for one column per question use --layout wide"),
]


@pytest.mark.parametrize(("name", "flags", "message"), ERRORS, ids=[e[0] + "".join(e[1]) for e in ERRORS])
def test_input_errors(run: Run, fake_scorer: list[FakeScorer], tmp_path: Path, name: str, flags: list[str],
                      message: str) -> None:
    code, out, err = run("grade", GRADE_DATA / name, "--bank", BANK, "--out", tmp_path / "run", *flags)
    opened = "--strict" in flags  # these files open; their columns are printed before the bad row stops the run
    assert (code, out, err) == (1, COLUMNS_READ if opened else "", f"Error: {GRADE_DATA / name}: {message}\n")
    assert entries(tmp_path) == []  # no output folder, complete-looking or partial


def test_existing_output_folder(run: Run, fake_scorer: list[FakeScorer], tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "scores.csv").write_text("earlier\n")
    code, out, err = run("grade", LONG, "--bank", BANK, "--out", tmp_path / "run")
    assert (code, out) == (1, LONG_COLUMNS_READ)
    assert err == (f"Error: {tmp_path / 'run'}: already exists and is not empty; an earlier run is never "
                   "overwritten, so choose a new --out folder\n")
    assert (tmp_path / "run" / "scores.csv").read_text() == "earlier\n"


def test_bad_layout_value_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    code, _, err = run("grade", LONG, "--layout", "tall")
    assert code == 2 and "Invalid value for '--layout': 'tall' is not one of 'auto', 'long', 'wide'." in err


def _variants(tmp_path: Path) -> dict[str, Path]:
    with LONG.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    out = {"long": LONG, "wide": GRADE_DATA / "wide.csv", "wide-gbk-semicolon": GRADE_DATA / "wide_gbk.csv",
           "aliases-bom-tab": GRADE_DATA / "long_aliases_bom.tsv"}
    for name, encoding, delimiter in (("bom-semicolon", "utf-8-sig", ";"), ("gbk", "gbk", ","),
                                      ("gb18030-tab", "gb18030", "\t"), ("utf16", "utf-16", ",")):
        path = tmp_path / f"{name}.csv"
        with path.open("w", encoding=encoding, newline="") as fh:
            csv.writer(fh, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
        out[name] = path
    return out


def _score_triples(out: Path) -> list[tuple[str, str, str]]:
    return [(r["student_id"], r["question_id"], r["score"]) for r in scores(out)]


def test_every_layout_and_encoding_grades_the_same(run: Run, fake_scorer: list[FakeScorer],
                                                   tmp_path: Path) -> None:
    results = {}
    for name, path in _variants(tmp_path).items():
        code, _, err = run("grade", path, "--bank", BANK, "--out", tmp_path / f"out-{name}", "-q")
        assert (code, err) == (0, ""), name
        results[name] = _score_triples(tmp_path / f"out-{name}")
    expected = results.pop("long")
    assert len(expected) == 12
    assert {name: got for name, got in results.items() if got != expected} == {}


# --- with the real scorer: the eval sets, end to end -----------------------------------------


@pytest.fixture
def real_scorer(monkeypatch: pytest.MonkeyPatch, use_encoder: Any) -> None:
    """Make `grade` reuse the session's encoder instead of loading the model again."""
    import harness.encoders

    monkeypatch.setattr(harness.encoders, "get_encoder", lambda name, **kw: use_encoder)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mohler_dev", "ads_dev"])
def test_eval_set_end_to_end(run: Run, real_scorer: None, eval_dir: Path, tmp_path: Path, name: str) -> None:
    code, _, err = run("bank", "import", eval_dir / f"{name}_questions.csv", "--out", tmp_path / "bank")
    assert (code, err) == (0, "")
    code, out, err = run("grade", eval_dir / f"{name}_answers.csv", "--bank", tmp_path / "bank",
                         "--out", tmp_path / "run")
    assert (code, err) == (0, ""), err
    assert entries(tmp_path / "run") == sorted(OUTPUTS)
    given = _read(eval_dir / f"{name}_answers.csv")
    got = scores(tmp_path / "run")
    assert len(got) == len(given)
    assert [(r["student_id"], r["question_id"], r["human_score"]) for r in got] == [
        (r["student_id"], r["question_id"], r["human_score"]) for r in given
    ]
    assert all(0.0 <= float(r["score"]) <= 100.0 for r in got)
    assert f"Graded {len(given):,} answers" in out


@pytest.mark.slow
def test_real_scores_agree_across_layouts_and_encodings(run: Run, real_scorer: None, eval_dir: Path,
                                                        tmp_path: Path) -> None:
    """A small grid of ads_dev answers written five ways grades to identical scores."""
    code, _, _ = run("bank", "import", eval_dir / "ads_dev_questions.csv", "--out", tmp_path / "bank")
    assert code == 0
    given = _read(eval_dir / "ads_dev_answers.csv")
    qids = sorted({r["question_id"] for r in given})[:3]
    by_q = {q: [r for r in given if r["question_id"] == q][:4] for q in qids}
    people = [f"p{i}" for i in range(4)]
    long_rows = [["student_id", "question_id", "answer", "human_score"]] + [
        [p, q, by_q[q][i]["answer"], by_q[q][i]["human_score"]] for i, p in enumerate(people) for q in qids
    ]
    wide_rows = [["学号", *qids]] + [[p, *(by_q[q][i]["answer"] for q in qids)] for i, p in enumerate(people)]
    files = {
        "long": (long_rows, "utf-8", ","), "wide": (wide_rows, "utf-8", ","),
        "gbk": (long_rows, "gb18030", ","), "bom": (long_rows, "utf-8-sig", ","),
        "semicolon": (long_rows, "utf-8", ";"),
    }
    results = {}
    for name, (rows, encoding, delimiter) in files.items():
        path = tmp_path / f"{name}.csv"
        with path.open("w", encoding=encoding, newline="") as fh:
            csv.writer(fh, delimiter=delimiter).writerows(rows)
        code, _, err = run("grade", path, "--bank", tmp_path / "bank", "--out", tmp_path / f"out-{name}",
                           "-q")
        assert (code, err) == (0, ""), name
        results[name] = _score_triples(tmp_path / f"out-{name}")
    expected = results.pop("long")
    assert len(expected) == 12
    assert {name: got for name, got in results.items() if got != expected} == {}


# --- report.md is the cohort report of the run ------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_md_is_what_harness_report_prints_for_the_run(run: Run, fake_scorer: list[FakeScorer],
                                                              tmp_path: Path, lang: str) -> None:
    bad = GRADE_DATA / "unknown_question.csv"  # a skipped row: Input problems too
    for source, folder in ((LONG, tmp_path / "run"), (bad, tmp_path / "bad")):
        assert run("grade", source, "--bank", BANK, "--out", folder, "--lang", lang, "-q")[0] == 0
    for folder in (tmp_path / "run", tmp_path / "bad"):
        written = (folder / "report.md").read_text(encoding="utf-8")
        # Without --bank the report takes the run's bank from run.json; the file or the folder alike.
        for given in (folder, folder / "scores.csv"):
            code, out, err = run("report", "--scores", given, "--format", "md", "--lang", lang)
            assert (code, err) == (0, "")
            assert out == written
    heading = {"en": "## Input problems", "zh": "## 输入问题"}[lang]
    assert heading in (tmp_path / "bad" / "report.md").read_text(encoding="utf-8")
    assert heading not in (tmp_path / "run" / "report.md").read_text(encoding="utf-8")


def test_report_of_a_bank_import_shows_the_statements_of_missed_points(run: Run, fake_scorer: list[FakeScorer],
                                                                        tmp_path: Path) -> None:
    """Points derived from reference answers are labelled by their whole clause; the report finds them by id."""
    long_clause = "CLIP trains an image encoder and a text encoder jointly on four hundred million pairs"
    questions = tmp_path / "questions.csv"
    questions.write_text("question_id,topic,question,reference_answer\n"
                         f"q1,clip,What is CLIP?,\"{long_clause}, and it classifies zero-shot from prompts.\"\n",
                         encoding="utf-8")
    answers = tmp_path / "answers.csv"
    answers.write_text("student_id,question_id,answer\ns1,q1,no idea\ns2,q1,a GAN\n", encoding="utf-8")
    assert run("bank", "import", questions, "--out", tmp_path / "bank")[0] == 0
    assert run("grade", answers, "--bank", tmp_path / "bank", "--out", tmp_path / "run", "-q")[0] == 0
    code, out, err = run("report", "--scores", tmp_path / "run" / "scores.csv")
    assert (code, err) == (0, "")
    points = out.split("## Most-missed key points\n\n")[1].split("\n\n")[0].splitlines()[2:]
    assert points == [  # label / question | missed | the rubric's statement, found by the point's id
        f"| {long_clause} / q1 | 2/2 (100%) | {long_clause} |",
        "| and it classifies zero-shot from prompts. / q1 | 2/2 (100%) | and it classifies zero-shot from prompts. |",
    ]


def test_report_refuses_a_broken_run_json(run: Run, fake_scorer: list[FakeScorer], tmp_path: Path) -> None:
    assert run("grade", LONG, "--bank", BANK, "--out", tmp_path / "run", "-q")[0] == 0
    (tmp_path / "run" / "run.json").write_text("{", encoding="utf-8")
    code, out, err = run("report", "--scores", tmp_path / "run", "--bank", BANK)
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: {tmp_path / 'run' / 'run.json'}: not the run.json of a `harness grade` run (")
    assert err.endswith("; move it away to use the scores.csv alone\n")


def test_terminal_display_shows_loading_then_a_bar_and_clears_it() -> None:
    from io import StringIO

    from rich.console import Console

    from harness.cli.grade_cmd import RunDisplay
    from harness.grade.grader import Progress

    out = StringIO()
    with RunDisplay(Console(file=out, force_terminal=True, width=80), True) as display:
        display.update(Progress(0, 0, 100, 0.0, stage="loading"))
        display.update(Progress(0, 0, 100, 0.0, stage="grading"))
        display.update(Progress(100, 100, 100, 2.0))
    text = out.getvalue()
    assert "Loading the embedder..." in text and "100 answers 50.0 answers/s" in text
    assert text.endswith("\x1b[2K")  # transient: the bar is cleared at the end
    quiet = StringIO()
    with RunDisplay(Console(file=quiet, force_terminal=True), False) as display:
        display.update(Progress(0, 0, 100, 0.0, stage="loading"))
    assert quiet.getvalue() == ""
