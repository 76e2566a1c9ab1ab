"""Warnings about a valid bank: rubrics that load but will probably score badly.

`load_bank` rejects what cannot work (errors); these checks find what works
but misleads (warnings), each naming the rubric file, the field and the fix:

- an alias that a key point (or the rubric's answer-level keywords) and a
  misconception cue of the same question share: an answer stating the wrong
  claim earns the point's keyword credit with the very word that flags it;
- a key point without a plain-language alternative in a rubric whose other
  points have one: an answer in the candidate's own words cannot match it.
"""

from __future__ import annotations

from harness.scoring.keywords import alias_key
from harness.types import Bank, Rubric


def lint_bank(bank: Bank) -> list[str]:
    """Every warning for the bank, rubric by rubric in bank order."""
    return [w for qid in bank.questions for w in lint_rubric(bank.rubrics[qid])]


def lint_rubric(rubric: Rubric) -> list[str]:
    """Warnings for one rubric (see the module doc)."""
    return [*_shared_cues(rubric), *_plain_alternatives(rubric)]


def _shared_cues(rubric: Rubric) -> list[str]:
    cues: dict[str, str] = {}
    for m in rubric.misconceptions:
        for g in m.cues:
            for alias in g.aliases:
                cues.setdefault(alias_key(alias), m.id)
    where = [(f"key_points[{i}] ({p.id}).keywords", p.keywords) for i, p in enumerate(rubric.key_points)]
    where.append(("keywords", rubric.keywords))
    out = []
    for field, groups in where:
        for g in groups:
            for alias in g.aliases:
                misc = cues.get(alias_key(alias))
                if misc is not None:
                    out.append(f"{rubric.path}: {field}: alias {alias!r} is also a cue of misconception {misc!r}; "
                               "narrow the cue to the wrong claim or drop the alias")
    return out


def _plain_alternatives(rubric: Rubric) -> list[str]:
    hand_written = [p for p in rubric.key_points if not p.derived]
    if not any(a.plain for p in hand_written for a in p.alternatives):
        return []
    return [f"{rubric.path}: key_points[{i}] ({p.id}).alternatives: no plain-language alternative "
            "(plain: true) while other points have one; add one in everyday words"
            for i, p in enumerate(rubric.key_points) if not p.derived and not any(a.plain for a in p.alternatives)]
