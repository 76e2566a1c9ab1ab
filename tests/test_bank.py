from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.bank.importer import import_questions
from harness.bank.loader import load_bank
from harness.cli import cli
from harness.errors import BankError, InputFileError
from harness.types import Bank

REPO = Path(__file__).resolve().parents[1]
EXPECTED = {
    "clip-idea": "clip", "clip-architecture": "clip", "clip-objective": "clip", "clip-data": "clip",
    "clip-zero-shot": "clip", "blip-idea": "blip", "blip-architecture": "blip", "blip-losses": "blip",
    "blip-capfilt": "blip", "blip2-idea": "blip2", "blip2-qformer": "blip2", "blip2-training": "blip2",
    "beit-method": "beit", "clip-vs-beit3": "beit", "beit3-design": "beit", "beit3-vs-beit2-embedding": "beit",
    "vit-patch": "vit", "vit-sequence-length": "vit", "transformer-position-encoding": "position-encoding",
    "relative-vs-absolute-pe": "position-encoding", "relative-pe-implementation": "position-encoding",
    "cv-pretrained-models": "pretraining", "contrastive-learning": "contrastive-learning",
    "moco-simclr": "contrastive-learning",
}


def test_bundled_bank_has_the_24_questions_under_their_topics(bank: Bank) -> None:
    assert {q.id: q.topic for q in bank.questions.values()} == EXPECTED
    assert len(bank.topics) == 8


def test_bundled_rubrics_are_complete(bank: Bank) -> None:
    for qid, rubric in bank.rubrics.items():
        q = bank.questions[qid]
        assert q.prompt_zh, qid
        assert 3 <= len(rubric.key_points) <= 7, qid
        assert all(ref.zh for ref in rubric.references), qid
        aliases = [a for p in rubric.key_points for g in p.keywords for a in g.aliases]
        for point in rubric.key_points:
            assert point.keywords and point.weight > 0 and not point.derived, (qid, point.id)
        assert any(any("\u4e00" <= ch <= "\u9fff" for ch in a) for a in aliases), qid
        assert any(a.isascii() for a in aliases), qid


def test_seed_errors_are_misconceptions_not_references(bank: Bank) -> None:
    arch = bank.rubrics["clip-architecture"]
    assert any("BERT" in m.text for m in arch.misconceptions)
    objective = bank.rubrics["clip-objective"]
    assert any("对抗" in m.text for m in objective.misconceptions)
    assert "没有任何对抗" in (objective.references[0].zh or "")  # stated only as what CLIP is not
    seq = bank.rubrics["vit-sequence-length"].references[0].zh or ""
    assert "257" in seq and "256" in seq


def test_cli_list_and_validate_on_the_bundled_bank() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["bank", "validate"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 24 questions in 8 topics")
    listing = runner.invoke(cli, ["bank", "list", "--topic", "vit"], catch_exceptions=False)
    assert "vit-sequence-length" in listing.output and "clip-idea" not in listing.output
    show = runner.invoke(cli, ["bank", "show", "clip-objective"], catch_exceptions=False)
    assert "CLIP 的训练目标" in show.output and "Key points" in show.output


def test_show_unknown_id_suggests_the_closest(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "harness", "bank", "show", "clip-idae"],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1
    assert "unknown question id 'clip-idae'; did you mean clip-idea" in result.stderr


def _copy_bank(tmp_path: Path) -> Path:
    root = tmp_path / "bank"
    shutil.copytree(REPO / "questions", root / "questions")
    shutil.copytree(REPO / "rubrics", root / "rubrics")
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("missing-field", "questions/clip.yaml: questions[0].topic: required field is missing"),
        ("duplicate-id", "questions/vit.yaml: id: duplicate question id 'clip-idea'"),
        ("bad-weight", "rubrics/clip-idea.yaml: key_points[0].weight: must be a positive number, got -2"),
        ("unknown-key", "rubrics/clip-idea.yaml: key_points[0].colour: unknown key"),
        ("no-rubric", "questions/clip.yaml: id: question 'clip-idea' has no rubric"),
        ("bad-yaml", "rubrics/clip-data.yaml: line"),
    ],
)
def test_broken_bank_exits_1_naming_file_and_field(tmp_path: Path, breakage: str, expected: str) -> None:
    root = _copy_bank(tmp_path)
    if breakage == "missing-field":
        _edit(root / "questions/clip.yaml", "    topic: clip\n", "")
    elif breakage == "duplicate-id":
        _edit(root / "questions/vit.yaml", "id: vit-patch", "id: clip-idea")
    elif breakage == "bad-weight":
        text = (root / "rubrics/clip-idea.yaml").read_text(encoding="utf-8")
        first = text.index("weight:")
        end = text.index("\n", first)
        (root / "rubrics/clip-idea.yaml").write_text(text[:first] + "weight: -2" + text[end:], encoding="utf-8")
    elif breakage == "unknown-key":
        text = (root / "rubrics/clip-idea.yaml").read_text(encoding="utf-8")
        first = text.index("    weight:")
        broken = text[:first] + "    colour: red\n" + text[first:]
        (root / "rubrics/clip-idea.yaml").write_text(broken, encoding="utf-8")
    elif breakage == "no-rubric":
        (root / "rubrics/clip-idea.yaml").unlink()
    elif breakage == "bad-yaml":
        (root / "rubrics/clip-data.yaml").write_text("question_id: [unclosed\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["bank", "validate", str(root)], catch_exceptions=False)
    assert result.exit_code == 1
    assert expected in result.output.replace(str(root) + "/", "")
    with pytest.raises(BankError):
        load_bank(root)


def test_alias_shared_by_two_points_is_rejected(tmp_path: Path) -> None:
    root = tmp_path / "b"
    (root / "questions").mkdir(parents=True)
    (root / "rubrics").mkdir()
    (root / "questions/t.yaml").write_text(
        "questions:\n  - {id: q1, topic: t, difficulty: easy, prompt: {zh: 问题}}\n", encoding="utf-8")
    (root / "rubrics/q1.yaml").write_text(
        "question_id: q1\nversion: 1\nreferences: [{zh: 答案}]\nkey_points:\n"
        "  - {id: a, text: 甲, weight: 1, keywords: [[Info NCE]]}\n"
        "  - {id: b, text: 乙, weight: 1, keywords: [[infonce, '']]}\n", encoding="utf-8")
    with pytest.raises(BankError) as err:
        load_bank(root)
    text = "\n".join(err.value.problems)
    assert "key_points[1].keywords: alias 'infonce' is also used by key point 'a'" in text
    assert "key_points[1].keywords[0][1]: empty or non-text alias ''" in text


def test_import_ads_questions(tmp_path: Path, eval_dir: Path) -> None:
    out = tmp_path / "ads"
    result = CliRunner().invoke(cli, ["bank", "import", str(eval_dir / "ads_dev_questions.csv"), "--out", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "OK: 7 questions in 1 topic, 10 reference answers" in result.output
    bank = load_bank(out)
    assert all(r.derived for r in bank.rubrics.values())
    assert CliRunner().invoke(cli, ["bank", "validate", str(out)]).exit_code == 0


def test_import_mohler_questions(tmp_path: Path, eval_dir: Path) -> None:
    bank = import_questions(eval_dir / "mohler_dev_questions.csv", tmp_path / "m")
    assert len(bank.questions) == 37
    assert bank.questions["mohler-1.1"].prompt_en.startswith("What is the role of a prototype")  # type: ignore[union-attr]


def test_import_reads_gbk_keywords_and_rejects_bad_rows(tmp_path: Path) -> None:
    csv = tmp_path / "q.csv"
    csv.write_bytes("question_id,topic,question,reference_answer,keywords\n"
                    "q-1,demo,什么是对比学习？,拉近正样本推远负样本,对比学习|contrastive learning;负样本\n"
                    .encode("gbk"))
    bank = import_questions(csv, tmp_path / "out")
    assert [g.aliases for g in bank.rubrics["q-1"].keywords] == [("对比学习", "contrastive learning"), ("负样本",)]
    bad = tmp_path / "bad.csv"
    bad.write_text("question_id,topic,question,reference_answer\nq-1,demo,,答案\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"bad.csv: row 2, column question: empty"):
        import_questions(bad, tmp_path / "out2")
    with pytest.raises(InputFileError, match="already holds a bank"):
        import_questions(csv, tmp_path / "out")


def test_utf16_without_bom_holding_chinese_is_read(tmp_path: Path) -> None:
    from harness.files.csvread import detect_format, iter_rows

    text = "question_id,topic,question,reference_answer\nq-1,demo,一是什么？,一就是一\n"
    for encoding in ("utf-16-le", "utf-16-be"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        assert detect_format(path).encoding == encoding
        assert [row["question"] for _, row in iter_rows(path)] == ["一是什么？"]
    binary = tmp_path / "b.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputFileError, match="binary file"):
        detect_format(binary)


# --- a bank cannot be made to eat the machine (issue 11) --------------------------------------

QUESTION = "questions:\n  - {id: q1, topic: t, difficulty: easy, prompt: {zh: 问题}}\n"
RUBRIC = ("question_id: q1\nversion: 1\nreferences: [{zh: 答案是这样的}]\nkey_points:\n"
          "  - {id: a, text: 甲, weight: 1}\nmisconceptions:\n"
          "  - {id: m, text: 错, cues: [[错]], penalty: 10}\n")


def _tiny_bank(tmp_path: Path, question: str = QUESTION, rubric: str = RUBRIC) -> Path:
    root = tmp_path / "tiny"
    (root / "questions").mkdir(parents=True)
    (root / "rubrics").mkdir()
    (root / "questions/t.yaml").write_text(question, encoding="utf-8")
    (root / "rubrics/q1.yaml").write_text(rubric, encoding="utf-8")
    return root


def _problems(root: Path) -> str:
    """Every problem, one a line, with paths relative to the bank."""
    with pytest.raises(BankError) as err:
        load_bank(root)
    return "\n".join(err.value.problems).replace(f"{root}/", "")


def test_the_tiny_bank_is_valid(tmp_path: Path) -> None:
    assert list(load_bank(_tiny_bank(tmp_path)).questions) == ["q1"]


def test_yaml_aliases_are_rejected_with_their_line(tmp_path: Path) -> None:
    question = "questions:\n  - id: q1\n    topic: &t t\n    difficulty: easy\n    prompt: *t\n"
    text = _problems(_tiny_bank(tmp_path, question=question))
    assert "questions/t.yaml: line 5, column 13: YAML aliases (*name) are not allowed in a bank" in text


def test_an_alias_bomb_in_an_echoed_field_fails_fast(tmp_path: Path) -> None:
    import time

    levels = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]" for p, c in zip("abcdefghi", "bcdefghij")]
    question = "\n".join(levels) + "\nquestions:\n  - {id: q1, topic: t, difficulty: *j, prompt: {zh: 问题}}\n"
    start = time.perf_counter()
    text = _problems(_tiny_bank(tmp_path, question=question))
    assert time.perf_counter() - start < 2
    assert "questions/t.yaml: line 2, column 8: YAML aliases (*name) are not allowed" in text
    assert len(text) < 300


def test_duplicate_keys_are_rejected_not_the_last_kept(tmp_path: Path) -> None:
    rubric = RUBRIC.replace("version: 1\n", "version: 1\nversion: 2\n")
    text = _problems(_tiny_bank(tmp_path, rubric=rubric))
    assert "rubrics/q1.yaml: line 3, column 1: duplicate key 'version'" in text
    inline = QUESTION.replace("difficulty: easy", "difficulty: easy, difficulty: hard")
    assert "questions/t.yaml: line 2, column 42: duplicate key 'difficulty'" in _problems(_tiny_bank(tmp_path / "b",
                                                                                                    question=inline))


def test_merge_keys_are_rejected(tmp_path: Path) -> None:
    question = "questions:\n  - <<: {topic: t}\n    id: q1\n    difficulty: easy\n    prompt: {zh: 问题}\n"
    assert "questions/t.yaml: line 2, column 5: merge keys (<<) are not allowed" in _problems(
        _tiny_bank(tmp_path, question=question))


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", ".NaN", "1001"])
@pytest.mark.parametrize("field", ["weight", "penalty"])
def test_nan_inf_and_huge_weights_and_penalties_are_rejected(tmp_path: Path, field: str, value: str) -> None:
    rubric = RUBRIC.replace("weight: 1}", f"weight: {value}}}" if field == "weight" else "weight: 1}")
    rubric = rubric.replace("penalty: 10}", f"penalty: {value}}}" if field == "penalty" else "penalty: 10}")
    text = _problems(_tiny_bank(tmp_path, rubric=rubric))
    where = "key_points[0].weight" if field == "weight" else "misconceptions[0].penalty"
    assert f"rubrics/q1.yaml: {where}: " in text


def test_a_huge_reference_is_rejected_showing_only_a_prefix(tmp_path: Path) -> None:
    from harness.bank.loader import MAX_TEXT_CHARS

    rubric = RUBRIC.replace("答案是这样的", "答" * (MAX_TEXT_CHARS + 1))
    text = _problems(_tiny_bank(tmp_path, rubric=rubric))
    assert f"rubrics/q1.yaml: references[0].zh: {MAX_TEXT_CHARS + 1:,} characters, more than the" in text
    assert len(text.splitlines()[0]) < 200


@pytest.mark.parametrize(("old", "new", "field"), [
    ("difficulty: easy", "difficulty: '{long}'", "questions[0].difficulty"),
    ("id: q1", "id: '{long}'", "questions[0].id"),
    ("prompt: {zh: 问题}", "prompt: '{long}'", "questions[0].prompt"),
    ("topic: t", "topic: t, tags: ['{long}']", "questions[0].tags"),
    ("topic: t", "topic: t, '{long:.1000}': 1", "questions[0]."),  # YAML keys stop at 1,024 characters
])
def test_bad_values_are_echoed_as_a_short_prefix(tmp_path: Path, old: str, new: str, field: str) -> None:
    long = "x" * 20_000
    text = _problems(_tiny_bank(tmp_path, question=QUESTION.replace(old, new.format(long=long))))
    assert f"questions/t.yaml: {field}" in text and "xxxxxxxxxx" in text
    assert len(text.splitlines()[0]) < 200, text[:400]


def test_numbers_too_long_to_be_real_are_rejected_fast(tmp_path: Path) -> None:
    import time

    start = time.perf_counter()
    sexagesimal = RUBRIC.replace("weight: 1}", "weight: 1" + ":20" * 50_000 + "}")
    assert "rubrics/q1.yaml: line 5, column 30: a number of 150,001 characters" in _problems(
        _tiny_bank(tmp_path, rubric=sexagesimal))
    digits = RUBRIC.replace("version: 1", "version: " + "9" * 5000)
    assert "rubrics/q1.yaml: line 2, column 10: a number of 5,000 characters" in _problems(
        _tiny_bank(tmp_path / "b", rubric=digits))
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize(("value", "message"), [
    ("2020-13-45", "line 2, column 10: cannot read this value (month must be in 1..12)"),
    ("!!int zz", "line 2, column 10: cannot read this value (invalid literal for int()"),
    ("!!float nanx", "line 2, column 10: cannot read this value (could not convert string to float"),
    ("!!int ''", "line 2, column 10: cannot read this value (string index out of range)"),
])
def test_values_yaml_cannot_construct_are_bank_errors(tmp_path: Path, value: str, message: str) -> None:
    text = _problems(_tiny_bank(tmp_path, rubric=RUBRIC.replace("version: 1", f"version: {value}")))
    assert f"rubrics/q1.yaml: {message}" in text


def test_a_bank_file_over_the_size_cap_is_not_read(tmp_path: Path) -> None:
    from harness.bank.loader import MAX_FILE_BYTES

    rubric = RUBRIC + "# padding\n" * (MAX_FILE_BYTES // 10)
    text = _problems(_tiny_bank(tmp_path, rubric=rubric))
    assert f"rubrics/q1.yaml: larger than {MAX_FILE_BYTES:,} bytes, the most a bank file may hold" in text


def test_too_many_questions_and_points_are_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.bank import loader

    points = "".join(f"  - {{id: p{i}, text: 点{i}, weight: 1}}\n" for i in range(loader.MAX_ITEMS + 1))
    rubric = RUBRIC.replace("  - {id: a, text: 甲, weight: 1}\n", points)
    assert f"rubrics/q1.yaml: key_points: {loader.MAX_ITEMS + 1} entries, more than the" in _problems(
        _tiny_bank(tmp_path, rubric=rubric))
    monkeypatch.setattr(loader, "MAX_QUESTIONS", 1)
    two = QUESTION + "  - {id: q2, topic: t, difficulty: easy, prompt: {zh: 问题}}\n"
    assert "questions/t.yaml: questions: 2 entries, more than the 1 allowed" in _problems(
        _tiny_bank(tmp_path / "b", question=two))
