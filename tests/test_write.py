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


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755, 0o444], ids=oct)
def test_atomic_write_keeps_an_existing_files_permissions(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "report.html"
    path.write_text("old", encoding="utf-8")
    path.chmod(mode)
    write_atomic(path, "新的报告", encoding="utf-8")
    assert path.read_text(encoding="utf-8") == "新的报告"
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_atomic_write_gives_a_new_file_0644_under_umask_022(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "new.md", "x", encoding="utf-8")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.md").stat().st_mode) == 0o644


def test_report_out_keeps_permissions_through_the_cli(tmp_path: Path) -> None:
    from harness.cli import main

    out = tmp_path / "cohort.md"
    out.write_text("old", encoding="utf-8")
    out.chmod(0o600)
    scores = tmp_path / "run"
    scores.mkdir()
    (scores / "scores.csv").write_text(
        "\ufeffstudent_id,question_id,topic,score,covered,partial,missed,misconceptions,flags,feedback,answer\r\n"
        "s1,clip-idea,clip,80,,,,,,,答案\r\n", encoding="utf-8")
    main(["report", "--scores", str(scores), "--out", str(out)])
    assert out.read_text(encoding="utf-8") != "old"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_atomic_write_is_on_disk_before_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    write_bytes_atomic(tmp_path / "x.bin", b"data")
    # the file's data before the rename, the folder's entry after it (POSIX)
    assert events[:2] == ["fsync", "replace"] and (os.name == "nt" or events[2:] == ["fsync"])


def test_an_atomic_write_made_as_it_goes_leaves_nothing_when_it_fails(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    write_bytes_atomic(path, lambda fh: fh.write(b"a,b\n" * 3))
    assert path.read_bytes() == b"a,b\n" * 3

    def half(fh: object) -> None:
        fh.write(b"half")  # type: ignore[attr-defined]
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        write_bytes_atomic(path, half)
    assert path.read_bytes() == b"a,b\n" * 3 and sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]
