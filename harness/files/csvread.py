"""Reading user CSV files as exported by forms, spreadsheets and LMSs.

Detects the encoding (UTF-8 with or without BOM, UTF-16, GBK/GB18030, and
what charset-normalizer recognises) and the delimiter (comma, semicolon,
tab); every error names the file and, where known, the row and column.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InputFileError

_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ",;\t"
csv.field_size_limit(16 * 1024 * 1024)
@dataclass(frozen=True)
class CsvFormat:
    """How a CSV file is encoded and delimited."""

    encoding: str
    delimiter: str


def detect_encoding(path: Path, head: bytes) -> str:
    """The encoding of a file from its first bytes.

    Raises:
        InputFileError: for a binary (non-text) file.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\0" in head:
        # UTF-16 without BOM: pick the byte order that decodes into CSV-looking
        # text (delimiters and line breaks); Chinese characters may hold zero bytes
        # in either position, so counting zeros alone is not enough.
        best, best_marks = None, 0
        for candidate in ("utf-16-le", "utf-16-be"):
            try:
                text = _decode_prefix(head, candidate)
            except UnicodeDecodeError:
                continue
            marks = sum(text.count(ch) for ch in ",;\t\n")
            if marks > best_marks and "\0" not in text:
                best, best_marks = candidate, marks
        if best is None:
            raise InputFileError(f"{path}: this is a binary file, not a CSV text file")
        return best
    for candidate in ("utf-8", "gb18030"):
        try:
            _decode_prefix(head, candidate)
            return candidate
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None:
        raise InputFileError(f"{path}: cannot tell the text encoding; save the file as UTF-8 CSV")
    return str(best.encoding)


def _decode_prefix(head: bytes, encoding: str) -> str:
    """Decode a prefix that may end inside a multi-byte character."""
    decoder = codecs.getincrementaldecoder(encoding)()
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
    text = _decode_prefix(head, encoding).lstrip("\ufeff")
    first_line = text.splitlines()[0] if text.splitlines() else ""
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    return CsvFormat(encoding, delimiter)


def iter_rows(path: Path, fmt: CsvFormat | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number of the row's start, row) for each data row, streaming.

    Header names are stripped; a row with more cells than the header raises.

    Raises:
        InputFileError: unreadable file, bad encoding, malformed row.
    """
    fmt = fmt or detect_format(path)
    try:
        fh = path.open("r", encoding=fmt.encoding, newline="")
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror}") from exc
    with fh:
        reader = csv.reader(fh, delimiter=fmt.delimiter, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise InputFileError(f"{path}: the file is empty; expected a header row and answers")
            header = [h.strip().lstrip("\ufeff") for h in header]
            line = reader.line_num + 1
            for cells in reader:
                if any(c.strip() for c in cells):
                    if len(cells) > len(header):
                        raise InputFileError(
                            f"{path}: row {line}: {len(cells)} cells but the header has {len(header)}; "
                            "quote answers that contain the delimiter"
                        )
                    cells = cells + [""] * (len(header) - len(cells))
                    yield line, dict(zip(header, cells))
                line = reader.line_num + 1
        except csv.Error as exc:
            raise InputFileError(f"{path}: row {reader.line_num}: cannot parse CSV: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"{path}: not valid {fmt.encoding} text near byte {exc.start}; save the file as UTF-8 CSV"
            ) from exc


def read_header(path: Path, fmt: CsvFormat | None = None) -> list[str]:
    """The header row of a CSV file.

    Raises:
        InputFileError: unreadable or empty file.
    """
    fmt = fmt or detect_format(path)
    with path.open("r", encoding=fmt.encoding, newline="") as fh:
        try:
            header = next(csv.reader(fh, delimiter=fmt.delimiter), None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputFileError(f"{path}: row 1: cannot parse the header: {exc}") from exc
    if not header:
        raise InputFileError(f"{path}: the file is empty; expected a header row")
    return [h.strip().lstrip("\ufeff") for h in header]

