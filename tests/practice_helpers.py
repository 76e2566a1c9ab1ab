"""Stand-ins for the practice wing's tests: a scorer by answer length, a clock, stored attempts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from harness.practice.store import StoredAttempt
from harness.types import Evidence, PointResult, Score

BANK_DIR = Path(__file__).parent / "data" / "answer"
T0 = datetime(2030, 1, 1, 9, 0, tzinfo=timezone.utc)
# Three answers as a candidate pipes them: a two-line answer, a one-liner, a skip, and one without an @id.
PIPED = """@clip-idea
CLIP 用对比学习把图像和文本映射到同一个嵌入空间，
训练好后可以直接做零样本分类。
---
@vit-patch
ViT 把图像切成 16×16 的 patch，每个 patch 展平后线性投影成 token，加上位置编码送进 Transformer。
---
@blip-idea
:skip
---
BLIP 统一了理解和生成。
"""


class FakeScorer:
    """Scores by answer length (deterministic), tagged with a calibration id; records what it was asked."""

    def __init__(self, calibration: str = "cal-1", *, prepare_seconds: float = 0.0) -> None:
        self.calibration = calibration
        self.prepare_seconds = prepare_seconds
        self.calls: list[tuple[str, str]] = []
        self.prepared: list[list[str]] = []

    def score(self, question_id: str, answer: str) -> Score:
        self.calls.append((question_id, answer))
        value = float(min(100, len(answer) * 5))
        point = PointResult("p1", "要点", "……", 1.0, "covered" if value >= 50 else "missed", value / 100,
                            Evidence(answer[:10], 0.8, ()))
        return Score(question_id, value, value, (point,), (), 0.5, 0, (), (), "1+abc", "fake",
                     self.calibration)

    def rubric_vectors(self, question_ids: Sequence[str]) -> None:
        time.sleep(self.prepare_seconds)
        self.prepared.append(list(question_ids))


class FakeClock:
    """Thirty seconds later on every call."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=30)
        return self.now


def stored(attempt_id: int, qid: str, topic: str, score: float, *, day: int = 0, rubric: str = "1+aaa",
           embedder: str = "use-multilingual", calibration: str = "cal-1", answer: str = "答案",
           user: str = "alice") -> StoredAttempt:
    """A stored attempt submitted `day` days after T0."""
    at = T0 + timedelta(days=day)
    return StoredAttempt(user, qid, topic, answer, at - timedelta(minutes=2), at, attempt_id=attempt_id,
                         score=score, rubric_version=rubric, embedder_id=embedder, calibration_id=calibration,
                         explanation={})
