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
