"""A `grade` run's scores.csv -> a cohort report. Pandas; only `read_scores` reads a file.

Answers "what did my cohort not understand?":

- **topics**, weakest first: the mean of the people's topic means, their
  spread (SD), lowest and highest;
- **person x topic** table, people weakest first;
- **hardest questions**: lowest facility (the share of answers scoring at
  least `PASS_MARK`, as in the run's questions.csv), and every question with
  **negative discrimination** (a question's score against the mean of each
  person's other answers; below zero, stronger people did worse on it, a
  sign of a bad question or rubric);
- the **most-missed key points** with the rubric's statement (blank answers
  left out of the rates, as in `grade`), and the most frequent misconceptions;
- the **people who need attention**: mean below `attention_below`, more than
  one SD below the cohort, a quarter or more of the questions left blank, or
  half or more of their answers flagged (say `keyword-list`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from harness.errors import InputFileError
from harness.files.csvread import detect_format, iter_rows, read_header
from harness.grade.tally import PASS_MARK, discrimination
from harness.types import Bank

REQUIRED = ("student_id", "question_id", "topic", "score")
LIST_COLUMNS = ("covered", "partial", "missed", "misconceptions", "flags")
BLANK_FLAG = "blank"
TOPIC_COLUMNS = ("topic", "mean", "sd", "lowest", "highest", "people", "answers")
QUESTION_COLUMNS = ("question_id", "topic", "answers", "mean", "facility", "discrimination")
POINT_COLUMNS = ("question_id", "topic", "title", "statement", "statement_en", "missed", "judged", "rate")
MISCONCEPTION_COLUMNS = ("question_id", "topic", "misconception", "count", "answers", "rate")
ATTENTION_COLUMNS = (
    "person",
    "mean",
    "answers",
    "weakest_topic",
    "weakest_mean",
    "below_mark",
    "sd_below",
    "blank",
    "flagged",
)


@dataclass(frozen=True, eq=False)
class CohortReport:
    """A cohort's report; `person_topic` has a `person` column, one per topic (weakest first), `overall`."""

    source: str
    generated_at: datetime
    people: int
    answers: int
    questions: int
    mean: float
    skipped_rows: int
    attention_below: float
    topics: pd.DataFrame
    person_topic: pd.DataFrame
    hardest: pd.DataFrame
    negative: pd.DataFrame
    missed_points: pd.DataFrame
    misconceptions: pd.DataFrame
    attention: pd.DataFrame


def read_scores(path: Path) -> tuple[pd.DataFrame, int]:
    """Read a scores.csv (or RUN_DIR holding one); also the rows skipped for a blank score.

    Columns: row (line number), student_id, question_id, topic, score, and
    covered / partial / missed / misconceptions / flags as tuples of items
    (`;`-separated in the file); a column the file lacks gives empty tuples.

    Raises:
        InputFileError: unreadable file, not a scores.csv, or a bad score, naming the row.

    """
    if path.is_dir():
        path = path / "scores.csv"
    fmt = detect_format(path)
    header = {_key(h): h for h in read_header(path, fmt)}
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputFileError(
            f"{path}: not a scores.csv from `harness grade`: no {', '.join(missing)} "
            f"column{'s' if len(missing) > 1 else ''} "
            f"(it needs {', '.join(REQUIRED)}); give RUN_DIR/scores.csv of a grade run"
        )
    rows, skipped = [], 0
    for line, cells in iter_rows(path, fmt):
        raw = cells[header["score"]].strip()
        if not raw:
            skipped += 1
            continue
        rows.append(
            {
                "row": line,
                **{c: cells[header[c]].strip() for c in REQUIRED[:3]},
                "score": _score(path, line, raw),
                **{c: _items(cells[header[c]]) if c in header else () for c in LIST_COLUMNS},
            }
        )
    frame = pd.DataFrame(rows, columns=["row", *REQUIRED, *LIST_COLUMNS])
    frame["score"] = frame["score"].astype("float64")
    return frame, skipped


def _key(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def _score(path: Path, line: int, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise InputFileError(f"{path}: row {line}: score: {raw!r} is not a number from 0 to 100")
    return value


def _items(cell: str) -> tuple[str, ...]:
    return tuple(i.strip() for i in cell.split(";") if i.strip())


def cohort_report(
    scores: pd.DataFrame,
    *,
    bank: Bank | None,
    now: datetime,
    source: str = "",
    skipped_rows: int = 0,
    attention_below: float = PASS_MARK,
    top: int = 10,
) -> CohortReport:
    """Build the report from `read_scores` output (or a frame with its columns)."""
    frame = scores.copy()
    frame["student_id"] = frame["student_id"].astype(str)
    frame["question_id"] = frame["question_id"].astype(str)
    frame["topic"] = frame["topic"].astype(str)
    grid = frame.groupby(["student_id", "question_id"], sort=False)["score"].mean().unstack("question_id")
    person_topic = person_topic_table(frame)
    questions = question_table(frame, grid)
    means = person_topic["overall"]
    return CohortReport(
        source=source,
        generated_at=now,
        people=len(grid),
        answers=len(frame),
        questions=grid.shape[1],
        mean=float(means.mean()) if len(means) else float("nan"),
        skipped_rows=skipped_rows,
        attention_below=attention_below,
        topics=topic_table(person_topic, frame),
        person_topic=person_topic,
        hardest=questions.head(top).reset_index(drop=True),
        negative=questions[questions["discrimination"] < 0]
        .sort_values("discrimination")
        .reset_index(drop=True),
        missed_points=missed_points(frame, bank, top=top),
        misconceptions=misconception_table(frame, top=top),
        attention=attention(frame, person_topic, grid, below=attention_below),
    )


def person_topic_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Each person's mean per topic (topics weakest first) and overall; people weakest first."""
    per_q = frame.groupby(["student_id", "topic", "question_id"], sort=False)["score"].mean().reset_index()
    wide = per_q.pivot_table(index="student_id", columns="topic", values="score", aggfunc="mean", sort=False)
    order = wide.mean()
    wide = wide[sorted(wide.columns, key=lambda t: (order[t], str(t)))]
    wide["overall"] = per_q.groupby("student_id", sort=False)["score"].mean()
    wide = wide.rename_axis("person").reset_index().sort_values(["overall", "person"], kind="stable")
    wide.columns.name = None
    return wide.reset_index(drop=True)


def topic_table(person_topic: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Per topic: mean and spread (population SD) of the people's topic means, weakest first."""
    rows = []
    for topic in person_topic.columns[1:-1]:
        means = person_topic[topic].dropna()
        rows.append(
            {
                "topic": topic,
                "mean": float(means.mean()),
                "sd": float(means.std(ddof=0)) if len(means) > 1 else 0.0,
                "lowest": float(means.min()),
                "highest": float(means.max()),
                "people": int(len(means)),
                "answers": int((frame["topic"] == topic).sum()),
            }
        )
    return pd.DataFrame(rows, columns=list(TOPIC_COLUMNS))


def question_table(frame: pd.DataFrame, grid: pd.DataFrame) -> pd.DataFrame:
    """Per question: answers, mean, facility and discrimination; lowest facility first."""
    topic_of = frame.drop_duplicates("question_id").set_index("question_id")["topic"]
    disc = discrimination(grid.to_numpy(dtype=float))
    rows = []
    for qid, r in zip(grid.columns, disc, strict=True):
        scores = frame.loc[frame["question_id"] == qid, "score"]
        rows.append(
            {
                "question_id": qid,
                "topic": topic_of[qid],
                "answers": int(len(scores)),
                "mean": float(scores.mean()),
                "facility": float((scores >= PASS_MARK).mean()),
                "discrimination": float("nan") if r is None else r,
            }
        )
    table = pd.DataFrame(rows, columns=list(QUESTION_COLUMNS))
    return table.sort_values(["facility", "mean", "question_id"], kind="stable").reset_index(drop=True)


def _is_blank(flags: tuple[str, ...]) -> bool:
    return BLANK_FLAG in flags


def missed_points(frame: pd.DataFrame, bank: Bank | None, *, top: int = 10) -> pd.DataFrame:
    """The `top` key points missed by the most answers (blank answers left out), with the rubric statement."""
    judged_rows = frame[~frame["flags"].map(_is_blank)]
    judged = judged_rows.groupby("question_id").size()
    topic_of = frame.drop_duplicates("question_id").set_index("question_id")["topic"]
    counts = judged_rows[["question_id", "missed"]].explode("missed").dropna().value_counts()
    rows = []
    for (qid, title), n in counts.items():
        statement, statement_en = _statement(bank, str(qid), str(title))
        rows.append(
            {
                "question_id": qid,
                "topic": topic_of[qid],
                "title": title,
                "statement": statement,
                "statement_en": statement_en,
                "missed": int(n),
                "judged": int(judged[qid]),
                "rate": n / judged[qid],
            }
        )
    table = pd.DataFrame(rows, columns=list(POINT_COLUMNS))
    table = table.sort_values(
        ["missed", "rate", "question_id", "title"], ascending=[False, False, True, True], kind="stable"
    )
    return table.head(top).reset_index(drop=True)


def _statement(bank: Bank | None, question_id: str, title: str) -> tuple[str, str]:
    """The rubric statement of the point with this title (or id); empty if the bank lacks it."""
    rubric = bank.rubrics.get(question_id) if bank else None
    for point in rubric.key_points if rubric else ():
        if title in (point.title, point.id):
            return point.text, point.text_en or ""
    return "", ""


def misconception_table(frame: pd.DataFrame, *, top: int = 10) -> pd.DataFrame:
    """The `top` misconceptions stated by the most answers."""
    answers = frame.groupby("question_id").size()
    topic_of = frame.drop_duplicates("question_id").set_index("question_id")["topic"]
    counts = frame[["question_id", "misconceptions"]].explode("misconceptions").dropna().value_counts()
    rows = [
        {
            "question_id": qid,
            "topic": topic_of[qid],
            "misconception": text,
            "count": int(n),
            "answers": int(answers[qid]),
            "rate": n / answers[qid],
        }
        for (qid, text), n in counts.items()
    ]
    table = pd.DataFrame(rows, columns=list(MISCONCEPTION_COLUMNS))
    table = table.sort_values(
        ["count", "question_id", "misconception"], ascending=[False, True, True], kind="stable"
    )
    return table.head(top).reset_index(drop=True)


def attention(
    frame: pd.DataFrame, person_topic: pd.DataFrame, grid: pd.DataFrame, *, below: float
) -> pd.DataFrame:
    """People who need attention, weakest first, one column per reason (see the module doc)."""
    means = person_topic.set_index("person")["overall"]
    centre, spread = means.mean(), means.std(ddof=0)
    blank = frame["flags"].map(_is_blank)
    blanks = frame[blank].groupby("student_id").size()
    flagged = frame[~blank & frame["flags"].map(bool)].groupby("student_id").size()
    answered = grid.notna().sum(axis=1)
    topics = person_topic.set_index("person").drop(columns="overall")
    rows = []
    for person, mean in means.items():
        sd_below = (centre - mean) / spread if len(means) >= 5 and spread > 0 else float("nan")
        n_blank = int(blanks.get(person, 0)) + int(grid.shape[1] - answered[person])
        n_flagged = int(flagged.get(person, 0))
        many_blank = n_blank > 0 and n_blank * 4 >= grid.shape[1]
        many_flagged = n_flagged > 0 and n_flagged * 2 >= answered[person]
        if not (mean < below or sd_below > 1 or many_blank or many_flagged):
            continue
        own = topics.loc[person].dropna()
        rows.append(
            {
                "person": person,
                "mean": float(mean),
                "answers": int(answered[person]),
                "weakest_topic": own.idxmin() if len(own) else "",
                "weakest_mean": float(own.min()) if len(own) else float("nan"),
                "below_mark": bool(mean < below),
                "sd_below": float(sd_below),
                "blank": n_blank,
                "flagged": n_flagged,
            }
        )
    return pd.DataFrame(rows, columns=list(ATTENTION_COLUMNS))
