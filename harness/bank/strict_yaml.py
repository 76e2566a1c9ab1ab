"""Read one bank file as YAML that cannot be made to eat the machine.

PyYAML's safe loader still allows what a bank never needs and an attacker
can use: aliases (a "billion laughs" file is small but expands without end in
any code that walks or prints it), merge keys, duplicate keys (the last one
silently wins), numbers of a hundred thousand digits (quadratic to convert)
and values whose construction fails with a plain ValueError. `StrictLoader`
refuses each with the line it is on; `read_yaml` caps the file's size and
turns every failure into a problem naming the file.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

# libyaml's safe loader where present (7x faster on the bundled bank), else the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAX_NUMBER_CHARS = 100  # a longer number is no weight, version or penalty, and slow to read
SHOWN_CHARS = 40  # of a bad value, in a message


def show(value: Any) -> str:
    """A bad value as a message shows it: a scalar's repr cut to a short prefix, a container by its size."""
    if isinstance(value, (list, dict, set)):
        return f"a {type(value).__name__} of {len(value):,} entries"
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= SHOWN_CHARS:
        return repr(value)
    return f"{text[:SHOWN_CHARS]!r}... ({len(text):,} characters)"


def cut(text: str, limit: int = 200) -> str:
    """`text`, cut to `limit` characters."""
    return text if len(text) <= limit else text[:limit] + "..."


_INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_construct = _LOADER.construct_object


class _Refused(yaml.MarkedYAMLError):
    """YAML that parses but that a bank may not hold."""


class _AliasFound(_Refused):
    """A value repeated through an alias; its mark is the anchor's, so the alias is looked up."""


class StrictLoader(_LOADER):  # type: ignore[misc,valid-type]
    """The safe loader, refusing aliases, merge and duplicate keys, overlong numbers and unreadable values."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            raise _AliasFound(problem="YAML aliases (*name) are not allowed in a bank; write the value out",
                              problem_mark=node.start_mark)
        if len(node.value) > _MAX_NUMBER_CHARS and node.tag in (_INT_TAG, _FLOAT_TAG):
            raise _Refused(problem=f"a number of {len(node.value):,} characters; at most {_MAX_NUMBER_CHARS}",
                           problem_mark=node.start_mark)
        try:
            return _construct(self, node, deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # PyYAML's constructors fail plainly on some values: 2020-13-45, `!!int ''`
            raise _Refused(problem=f"cannot read this value ({cut(str(exc) or type(exc).__name__)})",
                           problem_mark=node.start_mark) from exc

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise _Refused(problem="expected a mapping", problem_mark=node.start_mark)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Refused(problem="merge keys (<<) are not allowed in a bank; write the keys out",
                               problem_mark=key_node.start_mark)
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                raise _Refused(problem="a key must be text", problem_mark=key_node.start_mark)
            if key in mapping:
                raise _Refused(problem=f"duplicate key {show(key)}; a key may appear once in a mapping",
                               problem_mark=key_node.start_mark)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


def _first_alias(text: str) -> Any:
    """The mark of the first alias in `text` (which is known to hold one)."""
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            return event.start_mark
    return None


def read_yaml(path: Path, problems: list[str], hasher: Any, *, max_bytes: int) -> Any:
    """The file's data (its bytes added to `hasher`), or None with a problem recorded.

    A file over `max_bytes` is not read further; every problem names the
    file and, for YAML it refuses, the line and column.
    """
    try:
        with path.open("rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        problems.append(f"{path}: cannot read: {exc.strerror}")
        return None
    if len(raw) > max_bytes:
        problems.append(f"{path}: larger than {max_bytes:,} bytes, the most a bank file may hold; "
                        "split it or shorten its texts")
        return None
    hasher.update(path.name.encode() + b"\0" + raw)
    try:
        text = raw.decode("utf-8-sig")
        return yaml.load(text, Loader=StrictLoader)
    except UnicodeDecodeError as exc:
        problems.append(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if isinstance(exc, _AliasFound):
            mark = _first_alias(text) or mark
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        kind = "" if isinstance(exc, _Refused) else " not valid YAML:"
        problems.append(f"{path}:{where}{kind} {cut(str(getattr(exc, 'problem', None) or exc))}")
    except RecursionError:
        problems.append(f"{path}: nested too deeply to be a bank file")
    return None
