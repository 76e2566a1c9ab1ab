"""The HTML report in a real browser: headless Chromium from the system packages.

Checks that the SVG charts render with real geometry, that bar lengths follow
the scores, that a `<script>` in a name or an answer shows as text and never
runs (with the page's Content-Security-Policy, and without it, so escaping
alone is tested), and that a screenshot shows the bars in their colours.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from progress_helpers import grade_cohort, levels
from report_fixtures import INJECTION, NOW, attempts_frame, report_of, tiny_bank

from harness.grade.schema import ScoreRow
from harness.report.candidate import candidate_report
from harness.report.charts import change_color, score_color
from harness.report.cohort import CohortReport
from harness.report.progress import ProgressReport, load_progress
from harness.report.render import render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)"
    ),
]
BANK = tiny_bank()
IMG_INJECTION = "<img src=x onerror=\"document.title='pwned-img'\">"
NAMES = ("张三", f"Eve{INJECTION}", f"Mal{IMG_INJECTION}", "Bob", "李四")
PROBE = """<script>
(function () {
  var out = {title: document.title, pwned: document.documentElement.hasAttribute('data-pwned'), charts: []};
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var r = svg.getBoundingClientRect();
    var chart = {cls: svg.getAttribute('class'), w: r.width, h: r.height, parts: []};
    svg.querySelectorAll('.bar, .cell, .line').forEach(function (el) {
      var b = el.getBBox();
      chart.parts.push({cls: el.getAttribute('class'), w: b.width, h: b.height, fill: el.getAttribute('fill'),
                        label: (el.querySelector('title') || {}).textContent || ''});
    });
    out.charts.push(chart);
  });
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


def chromium(profile: Path, *args: str) -> str:
    """Run headless Chromium with no network features; its stdout."""
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--hide-scrollbars",
        *args,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def cohort() -> CohortReport:
    rows = []
    for i, name in enumerate(NAMES):
        for qid, score in (("clip-idea", 20 + 15 * i), ("clip-data", 35 + 12 * i), ("vit-patch", 90 - 8 * i)):
            missed = qid == "clip-data" and score < 50
            rows.append(ScoreRow(name, qid, BANK.questions[qid].topic, float(score),
                                 missed=("数据规模",) if missed else (), missed_ids=("wit",) if missed else ()))
    return report_of(rows, BANK, source=f"run{INJECTION}/scores.csv")


def candidate_html() -> str:
    history = [
        ("clip-idea", 40, 0, {"contrastive": "missed"}, f"我写的 {INJECTION}"),
        ("vit-patch", 75, 1, {"position": "partial"}, IMG_INJECTION),
        ("clip-idea", 55, 2, {"contrastive": "missed"}, "CLIP 是对比学习"),
    ]
    frame = attempts_frame(BANK, history, user=f"小明{INJECTION}")
    return render(candidate_report(frame, bank=BANK, now=NOW), "html", lang="zh")


def probe(tmp_path: Path, page: str) -> dict:
    """Load a copy of `page` without its CSP plus a script that measures the charts; the measurements."""
    unsafe = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    assert unsafe != page
    path = tmp_path / "probe.html"
    path.write_text(unsafe.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = chromium(tmp_path / "profile", "--dump-dom", path.as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("kind", ["cohort", "candidate"])
def test_injected_script_shows_as_text_and_does_not_run(tmp_path: Path, kind: str) -> None:
    page = render(cohort(), "html") if kind == "cohort" else candidate_html()
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    dom = chromium(tmp_path / "profile", "--dump-dom", path.as_uri())
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert title is not None  # unchanged: the injected script would have set it to "pwned"
    assert html.unescape(title.group(1)) == (
        f"Cohort report: run{INJECTION}/scores.csv" if kind == "cohort" else f"练习报告：小明{INJECTION}"
    )
    assert 'data-pwned="1"' not in dom
    assert "<script" not in dom.lower() and "<img" not in dom.lower()
    assert "&lt;script&gt;document.title='pwned'" in dom  # shown as text
    assert "&lt;img src=x onerror=\"document.title='pwned-img'\"&gt;" in dom


def test_charts_render_with_real_geometry_and_escaping_alone_stops_scripts(tmp_path: Path) -> None:
    report = cohort()
    measured = probe(tmp_path, render(report, "html"))
    assert measured["title"] == f"Cohort report: run{INJECTION}/scores.csv"  # the script never ran
    assert measured["pwned"] is False
    kinds = [c["cls"] for c in measured["charts"]]
    assert kinds == ["chart chart-bars", "chart chart-heatmap"]
    for chart in measured["charts"]:
        assert chart["w"] > 100 and chart["h"] > 50
    bars = [p for p in measured["charts"][0]["parts"] if p["cls"] == "bar"]
    means = list(report.topics["mean"])
    assert len(bars) == len(means) == 2
    assert all(b["w"] > 0 and b["h"] > 10 for b in bars)
    assert bars[1]["w"] / bars[0]["w"] == pytest.approx(means[1] / means[0], rel=0.02)
    cells = [p for p in measured["charts"][1]["parts"] if p["cls"] == "cell"]
    assert len(cells) == len(NAMES) * 2 and all(c["w"] > 20 and c["h"] > 15 for c in cells)
    assert any(c["label"].startswith(f"Eve{INJECTION} · ") for c in cells)


def test_candidate_charts_render(tmp_path: Path) -> None:
    measured = probe(tmp_path, candidate_html())
    assert measured["title"] == f"练习报告：小明{INJECTION}" and measured["pwned"] is False
    bars, lines = measured["charts"]
    assert (bars["cls"], lines["cls"]) == ("chart chart-bars", "chart chart-lines")
    assert [p["label"] for p in bars["parts"]] == ["clip: 55", "vit: 75"]
    paths = [p for p in lines["parts"] if p["cls"] == "line"]
    assert [p["label"] for p in paths] == ["clip", "vit"]
    assert paths[0]["w"] > 100 and paths[0]["h"] > 0  # clip moved from 40 to 55 over two days


def test_screenshot_shows_the_bars_in_their_colours(tmp_path: Path) -> None:
    image_module = pytest.importorskip("PIL.Image")
    report = cohort()
    page = tmp_path / "report.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    shot = tmp_path / "shot.png"
    chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,1400", page.as_uri())
    pixels = np.asarray(image_module.open(shot).convert("RGB"), dtype=np.int16)
    for mean in report.topics["mean"]:
        colour = score_color(float(mean))
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
        near = int((np.abs(pixels - rgb).max(axis=2) <= 3).sum())
        assert near > 1000, f"bar colour {colour} for mean {mean:.1f} not on the screenshot"


# --- the progress report ------------------------------------------------------------------------


def progress(tmp_path: Path) -> ProgressReport:
    """Three runs of four people (one named with a script); 张三 improves, Eve declines, Bob leaves."""
    eve = f"Eve{INJECTION}"
    runs = [
        grade_cohort(tmp_path, "week1", levels({"张三": "weak", eve: "good", "Bob": "part", "李四": "part"})),
        grade_cohort(tmp_path, "week3", levels({"张三": "part", eve: "part", "Bob": "part", "李四": "part"})),
        grade_cohort(tmp_path, "week6", levels({"张三": "good", eve: "weak", "李四": "part"})),
    ]
    return load_progress(runs, bank_dir=None, now=NOW)


def test_progress_charts_render_and_scripts_in_names_never_run(tmp_path: Path) -> None:
    report = progress(tmp_path)
    page = render(report, "html", lang="zh")
    path = tmp_path / "progress.html"
    path.write_text(page, encoding="utf-8")
    dom = chromium(tmp_path / "profile", "--dump-dom", path.as_uri())
    assert 'data-pwned="1"' not in dom and "<script" not in dom.lower()
    assert "&lt;script&gt;document.title='pwned'" in dom
    measured = probe(tmp_path, page)
    assert measured["title"] == "进步报告：week1 → week6" and measured["pwned"] is False
    lines, grid = measured["charts"]
    assert (lines["cls"], grid["cls"]) == ("chart chart-lines chart-runs", "chart chart-heatmap chart-change")
    paths = [p for p in lines["parts"] if p["cls"] == "line"]
    assert sorted(p["label"] for p in paths) == sorted(report.topics["topic"])
    assert all(p["w"] > 300 for p in paths)  # each topic drawn across the three runs
    cells = [p for p in grid["parts"] if p["cls"] == "cell"]
    changes = report.person_topic.dropna(subset=["change"])
    assert len(cells) == len(changes) == 4 * 2  # Bob left after week3: his change is week1 to week3
    assert all(c["w"] > 20 and c["h"] > 15 for c in cells)
    for row in changes.itertuples():
        cell = next(c for c in cells if c["label"].startswith(f"{row.person} · {row.topic}: "))
        assert cell["fill"] == change_color(float(row.change))
    up = next(c for c in cells if c["label"].startswith("张三 · clip"))
    down = next(c for c in cells if c["label"].startswith(f"Eve{INJECTION} · clip"))
    assert up["label"].endswith("+100") and down["label"].endswith("-100")


def test_progress_screenshot_shows_improvement_blue_and_decline_red(tmp_path: Path) -> None:
    image_module = pytest.importorskip("PIL.Image")
    page = tmp_path / "progress.html"
    page.write_text(render(progress(tmp_path), "html"), encoding="utf-8")
    shot = tmp_path / "shot.png"
    chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri())
    pixels = np.asarray(image_module.open(shot).convert("RGB"), dtype=np.int16)
    for change in (100.0, -100.0):
        colour = change_color(change)
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
        near = int((np.abs(pixels - rgb).max(axis=2) <= 3).sum())
        assert near > 500, f"cell colour {colour} for a change of {change:+.0f} not on the screenshot"
