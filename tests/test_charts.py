"""Inline SVG chart helpers: label clipping stays correct and linear on huge labels."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.report.charts import clip_label, text_width


def test_short_label_is_kept_whole() -> None:
    assert clip_label("CLIP", 100) == "CLIP"
    assert clip_label("", 10) == ""


def test_long_label_is_cut_with_an_ellipsis_that_fits() -> None:
    label = clip_label("对比学习的基本思想是什么", 120)
    assert label == "对比学习的基本思…"
    assert text_width(label) <= 120


def test_huge_labels_are_clipped_from_their_start() -> None:
    # 100,000 characters: the old clipper re-measured the whole text once per removed
    # character (quadratic: minutes); this one reads only what fits.
    for huge in ("x" * 100_000, "中" * 100_000, "学生" + "$" * 100_000):
        label = clip_label(huge, 150)
        assert label.endswith("…") and huge.startswith(label[:-1]) and text_width(label) <= 150


@given(st.text(alphabet=st.sampled_from("ab中文…x $<"), max_size=60), st.floats(min_value=0, max_value=300))
def test_clipped_label_is_a_prefix_that_fits(text: str, max_px: float) -> None:
    label = clip_label(text, max_px)
    if label == text:
        assert text_width(text) <= max_px or label == "…"
    else:
        assert label.endswith("…") and text.startswith(label[:-1])
        assert text_width(label) <= max_px or label == "…"
        # the longest such prefix: one more character would not fit
        longer = text[: len(label)] + "…"
        assert text_width(longer) > max_px
