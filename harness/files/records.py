"""Splitting CSV text into rows, so that one bad row never takes others with it.

`read_rows` yields each readable row with the line it starts on and hands
every other record to a callback: a row that cannot be parsed, has more
cells than the header, or holds undecodable bytes, a NUL or (in a GB18030
file) UTF-8 text. A quoted field that runs away, to the end of the file,
over more than `MAX_RECORD_LINES` lines, or into a parse error or surplus
cells on a later line, is reported at the line it opens on, and reading
resumes at the next line, so only that row is lost.

Lines are read in blocks and kept from the start of the record being read,
so a runaway can be read again; the rows themselves come straight from
`csv.reader`, which keeps reading fast.
"""

from __future__ import annotations

import codecs
import csv
import itertools
from collections.abc import Callable, Iterator
from typing import TextIO

MAX_RECORD_LINES = 200  # no real answer spans more lines; a quoted field that does has run away
DECODE_ERRORS = "harness-escape"
"""The decoding error handler for user files: each bad byte becomes a lone surrogate, found by `text_problem`."""
_BLOCK_CHARS = 32 * 1024
csv.field_size_limit(16 * 1024 * 1024)


def _escape(exc: UnicodeError) -> tuple[str, int]:
    """Like `surrogateescape`, for bytes below 0x80 too (a UTF-16 file can hold any bad byte)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start:exc.end]), exc.end


codecs.register_error(DECODE_ERRORS, _escape)  # a fixed name and function: registering again is harmless

OnBad = Callable[[int, str], None]
"""Called with (line, why) for a record that cannot be used; it may raise."""
OnEmpty = Callable[[int], None]
"""Called with the line of a row that holds no text."""


def _ignore(line: int) -> None:
    """An empty row needs nothing done."""


def text_problem(text: str, encoding: str) -> str | None:
    """Why decoded text is not usable (undecodable bytes, a NUL, UTF-8 read as GB18030), or None."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        return f"not valid {encoding} text; save the file as CSV UTF-8"
    if "\0" in text:
        return "contains a NUL byte (binary data), not text"
    if encoding == "gb18030" and not raw.isascii() and _utf8_read_as_gbk(text):
        return "UTF-8 text in a GB18030 (GBK) file; save the whole file as CSV UTF-8"
    return None


def _utf8_read_as_gbk(text: str) -> bool:
    try:
        again = text.encode("gb18030").decode("utf-8")
    except UnicodeError:
        return False
    return any("\u4e00" <= ch <= "\u9fff" for ch in again)


def row_problem(cells: list[str], width: int, *, delimiter: str, encoding: str) -> str | None:
    """Why a parsed data row cannot be used, or None."""
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        return (f"{len(cells)} cells but the header has {width}; quote answers that contain "
                f"the delimiter {delimiter!r}")
    return text_problem("\x1f".join(cells), encoding)


def _encodable(text: str) -> bool:
    """False if the text holds bytes the file's encoding could not decode (lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Lines:
    """A text stream's lines, read in blocks; those from the current record's start are kept.

    `start` is set by the reader to the line the record being parsed starts
    on; a block is dropped once it ends before that line, so a runaway record
    can be re-read from its next line. A record that has taken more than
    `max_lines` lines is cut off (`cut`), so a runaway never holds the file.
    """

    def __init__(self, fh: TextIO, max_lines: int) -> None:
        self._fh = fh
        self.max_lines = max_lines
        self._kept: list[tuple[int, list[str]]] = []  # (number of the block's first line, lines)
        self._next = 1  # number of the next line to read from the stream
        self.start = 1
        self.cut = False
        self.ended = False

    def starting_at(self, line: int) -> Iterator[str]:
        """The lines from number `line` on (it must not lie before `start`).

        `cut` and `ended` then tell what stopped these lines: too long a
        record, or the end of the stream.
        """
        self.cut = self.ended = False
        return itertools.chain.from_iterable(self._blocks(line))

    def _blocks(self, line: int) -> Iterator[list[str]]:
        for first, block in list(self._kept):
            if first + len(block) > line:
                yield block[line - first:] if line > first else block
        while self._next - self.start <= self.max_lines:
            block = self._fh.readlines(_BLOCK_CHARS)
            if not block:
                self.ended = True
                return
            self._kept = [(f, b) for f, b in self._kept if f + len(b) > self.start]
            self._kept.append((self._next, block))
            self._next += len(block)
            yield block
        self.cut = True


def read_rows(fh: TextIO, *, delimiter: str, encoding: str, on_bad: OnBad, on_empty: OnEmpty = _ignore,
              max_lines: int = MAX_RECORD_LINES) -> Iterator[tuple[int, list[str]]]:
    """(line it starts on, cells) of the header, then of each usable non-empty row, in file order.

    The first record is the header, yielded as read; its width sets how many
    cells a row may have, and shorter rows are padded to it. Empty rows go to
    `on_empty`, records that cannot be used to `on_bad` (line 1 included), so
    each record below the header is yielded or passed to one callback once.
    """
    lines = _Lines(fh, max_lines)
    gbk = encoding == "gb18030"  # UTF-8 rows read as GB18030 decode without an error
    width, padding = -1, [[""]]
    start = 1
    while True:
        base = start - 1
        reader = csv.reader(lines.starting_at(start), delimiter=delimiter, strict=True)
        while True:
            lines.start = start
            error = None
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                cells, error = [], str(exc)
            end = base + reader.line_num
            if (end != start or error is not None or lines.cut) and (
                    error is not None or lines.cut or end - start >= max_lines or len(cells) > width):
                why, rewind = _record_problem(cells, error, start=start, end=end, width=width, lines=lines)
                if why:
                    on_bad(start, why)
                    start = start + 1 if rewind else end + 1
                    if rewind:
                        break
                    continue
            joined = "".join(cells)
            if width < 0:
                width, padding = len(cells), [[""] * n for n in range(len(cells) + 1)]
                yield start, cells
            elif not joined.strip():
                on_empty(start)
            elif (len(cells) > width or "\0" in joined or not joined.isascii() and (gbk or not _encodable(joined))
                  ) and (why := row_problem(cells, width, delimiter=delimiter, encoding=encoding)):
                on_bad(start, why)
            else:
                yield start, cells + padding[width - len(cells)] if len(cells) < width else cells
            start = end + 1


def _record_problem(cells: list[str], error: str | None, *, start: int, end: int, width: int,
                    lines: _Lines) -> tuple[str | None, bool]:
    """Why a record cannot be read and whether to re-read from its next line, or (None, False).

    A record spanning lines `start`..`end` is sound unless its quoted field
    runs away; then the lines after `start` are read again as rows.
    """
    if lines.cut or end - start >= lines.max_lines:
        return f"a quote opened in this row is not closed within {lines.max_lines} lines; check its quotes", True
    if error is not None and lines.ended:
        return ("a quote opened in this row is never closed (the field runs to the end of the file, "
                f"line {end}); check its quotes"), end > start
    if end == start:
        return (None if error is None else f"cannot parse the row as CSV ({error}); check its quotes"), False
    if error is not None:
        return (f"a quote opened in this row is not closed where it should be (line {end} cannot be "
                f"parsed: {error}); check its quotes"), True
    if 0 <= width < len(cells) and any(c.strip() for c in cells[width:]):
        return (f"a quote opened in this row is not closed where it should be (the field runs to line "
                f"{end}, giving {len(cells)} cells where the header has {width}); check its quotes"), True
    return None, False
