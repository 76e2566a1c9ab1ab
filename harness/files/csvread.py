"""Reading user CSV files as exported by forms, spreadsheets and LMSs.

Detects the encoding (UTF-8 with or without BOM, UTF-16, GBK/GB18030, and
what charset-normalizer recognises) and the delimiter (comma, semicolon,
tab). The encoding is what most lines of the first 64 KB are written in, so
one stray NUL or GBK byte names its row instead of refusing the file.

Rows come from `harness.files.records.read_rows`, which never lets one bad
row take others with it. `iter_rows` and `read_header` serve files that must
be clean (a bank import, graded answers): the first bad row raises. Every
error names the file and, where known, the row and column.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from harness.errors import InputFileError
from harness.files.records import DECODE_ERRORS, OnBad, read_rows, text_problem

_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ",;\t"


@dataclass(frozen=True)
class CsvFormat:
    """How a CSV file is encoded and delimited."""

    encoding: str
    delimiter: str


def detect_encoding(path: Path, head: bytes) -> str:
    """The encoding of a file from its first bytes (`head`, up to 64 KB).

    Raises:
        InputFileError: for a binary (non-text) file, or one whose encoding cannot be told.

    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    lines = head.split(b"\n")
    if len(head) >= _SNIFF_BYTES and len(lines) > 1:
        lines.pop()  # the last line may be cut short
    if b"\0" in head:
        # UTF-16 without BOM, or UTF-8/GBK text with a stray NUL (reported at its row), or binary.
        clean = sum(1 for line in lines if line.strip() and b"\0" not in line)
        utf16, utf16_lines = _utf16_without_bom(head)
        if utf16 and utf16_lines > clean:
            return utf16
        if clean * 2 < sum(1 for line in lines if line.strip()):  # most lines hold NULs
            raise InputFileError(f"{path}: this is a binary file, not a CSV text file")
    try:
        _decode_prefix(head, "utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    return _vote(path, head, lines)


def _utf16_without_bom(head: bytes) -> tuple[str | None, int]:
    """The UTF-16 byte order the bytes read as CSV text in, and how many lines that gives.

    The byte order is the one that decodes into a header with a delimiter,
    and the most delimiters and line breaks, without NULs; Chinese characters
    may hold zero bytes in either position, so counting zeros alone is not
    enough. A UTF-8 file with a stray NUL decodes into a line or two at most,
    far fewer than its NUL-free lines.
    """
    best, best_marks, best_lines = None, 0, 0
    for candidate in ("utf-16-le", "utf-16-be"):
        try:
            text = _decode_prefix(head, candidate)
        except UnicodeDecodeError:
            continue
        marks = sum(text.count(ch) for ch in ",;\t\n")
        header = text.split("\n", 1)[0]
        if marks > best_marks and "\0" not in text and any(d in header for d in _DELIMITERS):
            best, best_marks, best_lines = candidate, marks, text.count("\n") + 1
    return best, best_lines


def _vote(path: Path, head: bytes, lines: list[bytes]) -> str:
    """The encoding most non-ASCII lines are valid in: UTF-8, else GB18030, else a guess.

    Raises:
        InputFileError: no encoding fits.

    """
    utf8 = gbk = other = 0
    for line in lines:
        if line.isascii():
            continue
        for encoding in ("utf-8", "gb18030"):
            try:
                line.decode(encoding)
            except UnicodeDecodeError:
                continue
            utf8, gbk = (utf8 + 1, gbk) if encoding == "utf-8" else (utf8, gbk + 1)
            break
        else:
            other += 1
    if utf8 and utf8 >= gbk and utf8 > other:
        return "utf-8"
    if gbk > other:
        return "gb18030"
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None:
        raise InputFileError(f"{path}: cannot tell the text encoding; save the file as UTF-8 CSV")
    return str(best.encoding)


def _decode_prefix(head: bytes, encoding: str, errors: str = "strict") -> str:
    """Decode a prefix that may end inside a multi-byte character."""
    decoder = codecs.getincrementaldecoder(encoding)(errors)
    return decoder.decode(head, final=False)


def detect_format(path: Path) -> CsvFormat:
    """Encoding and delimiter of a CSV file.

    Raises:
        InputFileError: missing, empty or binary file.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror}") from exc
    if not head.strip():
        raise InputFileError(f"{path}: the file is empty; expected a header row and answers")
    encoding = detect_encoding(path, head)
    text = _decode_prefix(head, encoding, "replace").lstrip("\ufeff")
    first_line = text.splitlines()[0] if text.splitlines() else ""
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    return CsvFormat(encoding, delimiter)


def open_text(path: Path, fmt: CsvFormat) -> TextIO:
    """The file as text for `read_records`; undecodable bytes become lone surrogates (see `text_problem`).

    Raises:
        InputFileError: the file cannot be opened.

    """
    try:
        return path.open("r", encoding=fmt.encoding, errors=DECODE_ERRORS, newline="")
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror}") from exc


def _raise(path: Path) -> OnBad:
    def on_bad(line: int, why: str) -> None:
        if line == 1:
            raise InputFileError(f"{path}: row 1: cannot parse the header row: {why}")
        raise InputFileError(f"{path}: row {line}: {why}")

    return on_bad


def iter_rows(path: Path, fmt: CsvFormat | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number of the row's start, row) for each non-empty data row, streaming.

    Header names are stripped. Any bad row raises, naming it: one that cannot
    be parsed, with more cells than the header, or holding undecodable bytes.

    Raises:
        InputFileError: unreadable or empty file, bad encoding, malformed row.
    """
    fmt = fmt or detect_format(path)
    with open_text(path, fmt) as fh:
        rows = read_rows(fh, delimiter=fmt.delimiter, encoding=fmt.encoding, on_bad=_raise(path))
        header = header_names(path, next(rows, None), fmt)
        for line, cells in rows:
            yield line, dict(zip(header, cells))


def read_header(path: Path, fmt: CsvFormat | None = None) -> list[str]:
    """The header row of a CSV file, names stripped.

    Raises:
        InputFileError: unreadable or empty file, or a header row that cannot be parsed or read.
    """
    fmt = fmt or detect_format(path)
    with open_text(path, fmt) as fh:
        rows = read_rows(fh, delimiter=fmt.delimiter, encoding=fmt.encoding, on_bad=_raise(path))
        return header_names(path, next(rows, None), fmt)


def header_names(path: Path, first: tuple[int, list[str]] | None, fmt: CsvFormat) -> list[str]:
    """The stripped names of a header record as `read_rows` yields it first.

    Raises:
        InputFileError: no header, an empty one, or one holding bad bytes.

    """
    if first is None:
        raise InputFileError(f"{path}: the file is empty; expected a header row and answers")
    cells = first[1]
    if not any(c.strip() for c in cells):
        raise InputFileError(f"{path}: row 1: the header row is empty; expected column names")
    problem = text_problem("\x1f".join(cells), fmt.encoding)
    if problem:
        raise InputFileError(f"{path}: row 1: {problem}")
    return [h.strip().lstrip("\ufeff").strip() for h in cells]
