"""Atomic, Excel-safe file writing (harness.files.write)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.files.write import safe_cell, write_atomic, write_bytes_atomic, write_csv_atomic


@pytest.mark.parametrize(("value", "cell"), [
    ("=SUM(A1)", "'=SUM(A1)"), ("＝1+1", "'＝1+1"), ("@x", "'@x"), ("-1.5", "-1.5"), ("+3", "+3"),
    ("-x", "'-x"), (None, ""), (7, "7"), ("答案", "答案"),
])
def test_safe_cell(value: object, cell: str) -> None:
    assert safe_cell(value) == cell


def test_write_csv_atomic_bom_crlf_and_safe_cells(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "x.csv"
    write_csv_atomic(path, [("a", "b"), ("=1+1", -2.5), ("多行\n答案", None)])
    assert path.read_bytes() == "\ufeffa,b\r\n'=1+1,-2.5\r\n\"多行\n答案\",\r\n".encode()


def test_atomic_write_replaces_and_keeps_usual_permissions(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"old")
    write_bytes_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]


def test_atomic_write_failure_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.txt"
    path.write_text("old", encoding="utf-8")

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(HarnessError, match=r"x.txt: cannot write the report: No space left on device"):
        write_atomic(path, "new", encoding="utf-8")
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_write_atomic_encodes_as_asked(tmp_path: Path) -> None:
    write_atomic(tmp_path / "r.csv", "a,答\n", encoding="utf-8-sig")
    assert (tmp_path / "r.csv").read_bytes() == "\ufeffa,答\n".encode()
