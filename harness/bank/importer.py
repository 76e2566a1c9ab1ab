"""Build a bank from a questions CSV (`question_id,topic,question,reference_answer`).

Several rows with one `question_id` give several acceptable reference
answers. An optional `keywords` column lists answer-level keyword groups
separated by `;` (aliases inside one group separated by `|`). The rubrics
have reference answers only; the scorer derives their points.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from harness.bank.loader import load_bank
from harness.errors import InputFileError
from harness.files.csvread import detect_format, iter_rows, read_header
from harness.scoring.text import has_cjk
from harness.types import Bank

REQUIRED = ("question_id", "topic", "question", "reference_answer")
_SLUG = re.compile(r"[^a-z0-9.]+")


def _slug(value: str) -> str:
    return _SLUG.sub("-", value.strip().lower()).strip("-.")


def _lang(text: str) -> dict[str, str]:
    return {"zh": text} if has_cjk(text) else {"en": text}


def import_questions(csv_path: Path, out_dir: Path) -> Bank:
    """Write `out_dir/questions/*.yaml` and `out_dir/rubrics/*.yaml`, then load them.

    Raises:
        InputFileError: missing columns, empty cells, conflicting rows, or an
            `out_dir` that already holds a bank.
    """
    fmt = detect_format(csv_path)
    header = [h.lower() for h in read_header(csv_path, fmt)]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputFileError(
            f"{csv_path}: missing column(s) {', '.join(missing)}; expected {','.join(REQUIRED)}[,keywords]"
        )
    questions: dict[str, dict[str, Any]] = {}
    rubrics: dict[str, dict[str, Any]] = {}
    for line, raw in iter_rows(csv_path, fmt):
        row = {k.lower(): (v or "").strip() for k, v in raw.items()}
        for col in REQUIRED:
            if not row[col]:
                raise InputFileError(f"{csv_path}: row {line}, column {col}: empty")
        qid, topic = _slug(row["question_id"]), _slug(row["topic"])
        if not qid or not topic:
            raise InputFileError(f"{csv_path}: row {line}: question_id and topic need letters or digits")
        prompt = _lang(row["question"])
        if qid in questions:
            known = questions[qid]
            if known["topic"] != topic or known["prompt"] != prompt:
                raise InputFileError(
                    f"{csv_path}: row {line}, column question/topic: question {qid!r} appears "
                    "earlier with a different text or topic"
                )
        else:
            questions[qid] = {"id": qid, "topic": topic, "difficulty": "medium", "prompt": prompt,
                              "source": csv_path.name}
            rubrics[qid] = {"question_id": qid, "version": "1", "references": []}
        rubrics[qid]["references"].append(_lang(row["reference_answer"]))
        if row.get("keywords"):
            groups = [[a.strip() for a in g.split("|") if a.strip()] for g in row["keywords"].split(";")]
            known_groups = rubrics[qid].setdefault("keywords", [])
            known_groups.extend(g for g in groups if g and g not in known_groups)
    if not questions:
        raise InputFileError(f"{csv_path}: no question rows below the header")
    _write_bank(out_dir, questions, rubrics)
    return load_bank(out_dir)


def _write_bank(out_dir: Path, questions: dict[str, dict[str, Any]], rubrics: dict[str, dict[str, Any]]) -> None:
    qdir, rdir = out_dir / "questions", out_dir / "rubrics"
    for d in (qdir, rdir):
        if d.exists() and any(d.iterdir()):
            raise InputFileError(f"{d}: already holds a bank; choose an empty --out folder")
    qdir.mkdir(parents=True, exist_ok=True)
    rdir.mkdir(parents=True, exist_ok=True)
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for q in questions.values():
        by_topic.setdefault(q["topic"], []).append(q)
    for topic, items in by_topic.items():
        _dump(qdir / f"{topic}.yaml", {"questions": items})
    for qid, rubric in rubrics.items():
        _dump(rdir / f"{qid}.yaml", rubric)


def _dump(path: Path, data: Any) -> None:
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(text, encoding="utf-8")
