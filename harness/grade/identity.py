"""Which column says who answered: the most unique one present.

Candidates are the columns whose name (item number dropped) is an alias of a
student id, ranked by kind: a student number (`学号`, `student_id`, Canvas
`sis_id`, `id`), then an email, then a login id (`username`), then a name
(`姓名`, `Name`). The best-ranked candidate is taken unless the first rows
read show it cannot tell people apart: empty in more than a tenth of them
(a few empty cells are reported row by row instead), or, in a tool's export
(one row per person), one value in every row, as `anonymous` in an anonymous
form. Then the next that can is taken, and if none can, the one filled in
most often. The others are carried through, and the choice is said with its
reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ID_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("student number", (
        "student_id", "studentid", "student_no", "student_number", "学号", "学生编号", "考号", "工号", "学籍号",
        "sis_id", "sis_user_id", "id_number", "编号", "id", "user_id", "userid", "respondent_id", "respondent",
        "candidate_id", "candidate", "student", "学生",
    )),
    ("email", ("email", "email_address", "e_mail", "邮箱", "邮箱地址", "电子邮件", "电子邮件地址", "电子邮箱")),
    ("login id", ("login_id", "sis_login_id", "username", "user", "login", "用户名", "用户", "账号", "用户标识")),
    ("name", ("name", "student_name", "full_name", "fullname", "姓名", "名字", "名称", "first_name", "surname",
              "last_name")),
)
STUDENT_ALIASES: tuple[str, ...] = tuple(a for _, aliases in ID_KINDS for a in aliases)
"""Every alias of a student id column, best first."""
_RANK = {alias: rank for rank, alias in enumerate(STUDENT_ALIASES)}
_KIND = {alias: kind for kind, aliases in ID_KINDS for alias in aliases}


def is_id_alias(key: str) -> bool:
    """True if a header key (see `labels.header_key`) names a student id column."""
    return key in _RANK


@dataclass(frozen=True)
class StudentChoice:
    """The student id column (-1: none), its kind, why, and the other candidates."""

    column: int
    kind: str
    note: str
    others: tuple[int, ...]


def choose_student(keys: Sequence[str], names: Sequence[str], *, skip: frozenset[int] | set[int],
                   sample: Sequence[Sequence[str]], per_person: bool = False) -> StudentChoice:
    """The column that tells people apart best (see module docstring).

    `keys` are the columns' header keys (item numbers dropped), `names` their
    names as written, `skip` columns that may not be the id, `sample` the
    first rows read below the header; `per_person` says each row is one
    person's (a tool's export), so one value in every row tells no one apart.
    """
    ranked = sorted((_RANK[k], i) for i, k in enumerate(keys) if k in _RANK and i not in skip)
    columns = [i for _, i in ranked]
    if not columns:
        return StudentChoice(-1, "", "", ())
    why: list[str] = []
    for i in columns:
        fault = _fault(i, names[i], sample, per_person=per_person)
        if fault is None:
            return _choice(i, keys, columns, why)
        why.append(fault)
    best = max(columns, key=lambda i: (sum(1 for row in sample if row[i].strip()), -columns.index(i)))
    return _choice(best, keys, columns, [*why, f"none tells the first rows apart; {names[best]} is filled in most"])


def _choice(column: int, keys: Sequence[str], columns: list[int], why: list[str]) -> StudentChoice:
    return StudentChoice(column, _KIND[keys[column]], "; ".join(why), tuple(i for i in columns if i != column))


def _fault(column: int, name: str, sample: Sequence[Sequence[str]], *, per_person: bool) -> str | None:
    """Why a column cannot tell the people in `sample` apart, or None."""
    values = [row[column].strip() for row in sample]
    empty = sum(1 for v in values if not v)
    if empty * 10 > len(values):
        return f"{name} is empty in {empty} of the first {len(values)} rows"
    if per_person and len(values) >= 2 and len(set(values)) == 1:
        return f"{name} is {values[0]!r} in every one of the first {len(values)} rows"
    return None
