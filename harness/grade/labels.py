"""How header names and question labels are compared: keys, labels, numbered columns.

`header_key` is a column name as compared with the aliases (`Student ID` ->
`student_id`); `normalize_label` is a question id or prompt as compared with
the bank: full-width folded, case folded, white space collapsed, a leading
item number (`3.`, `3、`, `Q3:`, `第3题`) and a trailing mark note (`（10分）`)
dropped.
"""

from __future__ import annotations

import re

from harness.scoring.text import normalize

_SEPARATORS = re.compile(r"[\s_\-]+")
_ITEM_NUMBER = re.compile(r"^(?:q(?:uestion)?\s*)?\d{1,3}\s*[.、:)\]]\s*|^第\s*\d{1,3}\s*题[.、:：\s]*")
_MARK_NOTE = re.compile(r"\s*[(\[]\s*\d+(?:\.\d+)?\s*(?:分|points?|pts?|marks?)\s*[)\]]\s*$")
_EDGE_PUNCT = " \t?？:：.。!！"
# A column that says only which answer it holds: `Response 3`, `Question 3`, `Q3`, `回答3`, `第3题`.
_NUMBERED = re.compile(
    r"^(?:response|question|answer|q|回答|答案|作答|题目|问题)\s*[.#]?\s*(\d{1,3})$|^第\s*(\d{1,3})\s*题$")


def header_key(name: str) -> str:
    """A header name as compared with the aliases: `Student ID` -> `student_id`."""
    return _SEPARATORS.sub("_", normalize(name)).strip("_")


def normalize_label(text: str) -> str:
    """A question id or prompt as compared with the bank (see module docstring)."""
    label = normalize(text)
    label = _ITEM_NUMBER.sub("", label)
    label = _MARK_NOTE.sub("", label)
    return label.strip(_EDGE_PUNCT)


def item_numbered(text: str) -> bool:
    """True for a survey item's header: a number, then the item's text (`3、姓名`, `Q3. ...`)."""
    label = normalize(text)
    return bool(_ITEM_NUMBER.match(label)) and bool(_ITEM_NUMBER.sub("", label).strip(_EDGE_PUNCT))


def answer_number(text: str) -> int | None:
    """N for a column that only numbers its answer (`Response N`, `Question N`, `QN`, `第N题`), else None."""
    found = _NUMBERED.match(normalize(text))
    if found is None:
        return None
    return int(found.group(1) or found.group(2))
