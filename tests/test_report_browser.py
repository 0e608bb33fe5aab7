"""The HTML report in a real browser: headless Chromium loads it offline with no console
error and no network request, the first screen is not blank and shows the verdict, and
the summary table sorts under the page's Content-Security-Policy.

Skipped only when no Chromium is installed (``.ci/run`` installs Debian's ``chromium``).
"""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from cdp_pipe import Browser, find_chromium
from report_fixtures import overfit_result, synthetic_analysis
from test_report_safety import evil_analysis

from loganalyzer.analysis import Analysis
from loganalyzer.renderers import html

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed")

WIDTH, HEIGHT = 1280, 800


@pytest.fixture(scope="module")
def page():
    with Browser.launch() as browser:
        yield browser.open_page(width=WIDTH, height=HEIGHT)


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)


def _offline_clean(load) -> None:
    assert load.console_errors == []
    schemes = {url.split(":", 1)[0] for url in load.requests}
    assert schemes <= {"file", "data"}, load.requests
    assert [u for u in load.requests if u.startswith("file:")] == [load.url]


def test_overfit_report_first_screen(page, tmp_path):
    path = tmp_path / "overfit.html"
    path.write_text(html.render(Analysis(runs=[overfit_result()])), encoding="utf-8")
    load = page.navigate(path.as_uri())
    _offline_clean(load)
    png = page.screenshot()
    (tmp_path / "overfit.png").write_bytes(png)
    pixels = _pixels(png)
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    assert pixels.std() > 20  # not blank
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 100  # text, colours, a plot
    # Every inlined figure decoded.
    assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    # The first screen holds the verdict (onset and what to do) and the loss plot's top.
    box = page.evaluate(
        "(() => { const v = document.querySelector('.verdict');"
        " const r = v.getBoundingClientRect();"
        " const f = document.querySelector('figure.plot-loss').getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, text: v.innerText, fig: f.top}; })()"
    )
    assert 0 <= box["top"] and box["bottom"] <= HEIGHT
    assert "Overfitting from epoch 18" in box["text"]
    assert "What to do: Stop at epoch ~22 with EarlyStopping(" in box["text"]
    assert box["fig"] < HEIGHT / 2


def test_sweep_report_sorts_under_csp(page, tmp_path):
    path = tmp_path / "sweep.html"
    path.write_text(html.render(synthetic_analysis()), encoding="utf-8")
    load = page.navigate(path.as_uri())
    _offline_clean(load)
    assert _pixels(page.screenshot()).std() > 20
    names = "Array.from(document.querySelectorAll('table.summary tbody tr')).map(r => r.cells[1].innerText)"
    before = page.evaluate(names)
    assert before == [  # worst first
        "overfit/history.json",
        "diverging/training.csv",
        "healthy/history.json",
        "negative/metrics.csv",
    ]
    page.evaluate("document.querySelectorAll('table.summary th button')[3].click()")
    ascending = page.evaluate(names)  # by best val loss: -4.08, 0.118, 0.189, 1.65
    assert ascending == [before[3], before[2], before[0], before[1]]
    page.evaluate("document.querySelectorAll('table.summary th button')[3].click()")
    assert page.evaluate(names) == ascending[::-1]
    assert page.log.console_errors == []


def test_prints_one_run_per_page(page, tmp_path):
    path = tmp_path / "sweep.html"
    path.write_text(html.render(synthetic_analysis()), encoding="utf-8")
    page.navigate(path.as_uri())
    pdf = base64.b64decode(page.send("Page.printToPDF", {"printBackground": True})["data"])
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 4
    page.send("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        breaks = page.evaluate(
            "Array.from(document.querySelectorAll('details.run-details'))"
            ".map(s => getComputedStyle(s).breakBefore)"
        )
        hint = page.evaluate("getComputedStyle(document.querySelector('.hint')).display")
        opened = page.evaluate("document.querySelectorAll('details.run-details[open]').length")
    finally:
        page.send("Emulation.setEmulatedMedia", {"media": ""})
    assert breaks == ["page"] * 4  # the summary, then each run on a page of its own
    assert opened == 4  # collapsed sections open for printing
    assert hint == "none"
    assert page.log.console_errors == []


def test_hostile_names_run_nothing(page, tmp_path):
    path = tmp_path / "evil.html"
    path.write_text(html.render(evil_analysis()), encoding="utf-8")
    # Record any alert() before the page's own code runs (CDP-injected, outside the CSP).
    hook = "window.__alerts = []; window.alert = (m) => window.__alerts.push(String(m));"
    page.send("Page.addScriptToEvaluateOnNewDocument", {"source": hook})
    load = page.navigate(path.as_uri())
    _offline_clean(load)
    assert page.evaluate("window.__alerts") == []
    page.evaluate("document.querySelectorAll('table.summary th button')[1].click()")
    assert page.evaluate("window.__alerts") == []
    assert page.evaluate("document.querySelectorAll('script').length") == 1
    assert "<script>alert(1)</script>" in page.evaluate("document.body.innerText")


def test_the_harness_sees_errors_and_requests(page, tmp_path):
    """Control: the checks above can fail. A CSP violation is a console error, and an
    external image (on a page without our CSP) is a network request."""
    blocked = tmp_path / "blocked.html"
    blocked.write_text(html.page("<p>x</p><script>console.log(1)</script>", "t"), encoding="utf-8")
    load = page.navigate(blocked.as_uri())
    assert any("Content Security Policy" in e for e in load.console_errors), load.console_errors
    leaky = tmp_path / "leaky.html"
    leaky.write_text('<img src="http://127.0.0.1:9/x.png"><p>x</p>', encoding="utf-8")
    load = page.navigate(leaky.as_uri())
    assert "http://127.0.0.1:9/x.png" in load.requests
    alerting = tmp_path / "alerting.html"
    alerting.write_text("<script>alert(1)</script>", encoding="utf-8")
    hook = "window.__alerts = []; window.alert = (m) => window.__alerts.push(String(m));"
    page.send("Page.addScriptToEvaluateOnNewDocument", {"source": hook})
    page.navigate(alerting.as_uri())
    assert page.evaluate("window.__alerts") == ["1"]


# ------------------------------------------------------------------ a 40-run sweep, a comparison
def _sweep_of_40() -> Analysis:
    from report_fixtures import diverging_result, healthy_result

    from loganalyzer.errors import ReadError

    makers = (healthy_result, overfit_result, healthy_result, diverging_result)
    runs = [
        makers[i % 4](name=f"sweeps/2024-11-24/imagenet/resnet50/lr_{i % 5}e-3/seed_{i}")
        for i in range(40)
    ]
    skipped = [ReadError(f"sweeps/notes/{i}.txt", "not a training log") for i in range(25)]
    return Analysis(runs=runs, errors=[ReadError("sweeps/x.csv", "empty file")], skipped=skipped)


def _open_and_shoot(page, path, text: str) -> None:
    """Write, open offline (no error, no request) and screenshot (not blank) a report."""
    path.write_text(text, encoding="utf-8")
    _offline_clean(page.navigate(path.as_uri()))
    png = page.screenshot()
    path.with_suffix(".png").write_bytes(png)
    assert _pixels(png).std() > 20


def test_sweep_of_40_runs_opens_on_its_summary(page, tmp_path):
    analysis = _sweep_of_40()
    _open_and_shoot(page, tmp_path / "sweep40.html", html.render(analysis, with_plots=False))
    layout = page.evaluate(
        "(() => { const t = document.querySelector('table.summary');"
        " const rows = Array.from(t.tBodies[0].rows);"
        " return {top: t.getBoundingClientRect().top,"
        " heights: rows.map(r => r.getBoundingClientRect().height),"
        " verdicts: rows.map(r => r.cells[2].innerText.trim()),"
        " names: rows.map(r => r.cells[1].innerText),"
        " header: document.querySelector('header').innerText,"
        " open: document.querySelectorAll('details[open]').length,"
        " last: document.querySelector('.la-report').lastElementChild.className,"
        " scroll: document.documentElement.scrollWidth}; })()"
    )
    # The summary is on the first screen, one line per run, worst first.
    assert layout["top"] < HEIGHT / 3
    assert len(layout["heights"]) == 40
    assert max(layout["heights"]) < 40 and len(set(round(h) for h in layout["heights"])) == 1
    order = {"ERROR": 0, "WARNING": 1, "OK": 2}
    ranks = [order[v] for v in layout["verdicts"]]
    assert ranks == sorted(ranks) and ranks[0] == 0 and ranks[-1] == 2
    # Each name is shown whole or cut at the front, never at its distinctive end.
    widths = page.evaluate(
        "Array.from(document.querySelectorAll('table.summary tbody td.name'))"
        ".map(c => [c.scrollWidth, c.clientWidth])"
    )
    assert all(scroll <= client for scroll, client in widths)
    assert all(re.search(r"lr_\de-3/seed_\d+$", n) for n in layout["names"])
    assert (
        "40 runs: 20 errors, 0 warnings, 20 ok; 1 unreadable; 25 files skipped"
        in (layout["header"])
    )
    # Sections and skipped files are collapsed; the skipped files come last.
    assert layout["open"] == 0 and layout["last"] == "skipped"
    assert layout["scroll"] <= WIDTH  # nothing runs off to the right
    # A name in the summary opens its section.
    page.evaluate("document.querySelector('table.summary tbody tr:nth-child(5) a').click()")
    opened = page.evaluate(
        "(() => { const d = document.getElementById('run-5');"
        " const r = d.getBoundingClientRect(); return {open: d.open, top: r.top}; })()"
    )
    assert opened["open"] and -2 <= opened["top"] < HEIGHT
    # Sorting by a column still works with 40 rows.
    page.evaluate("document.querySelectorAll('table.summary th button')[1].click()")
    names = page.evaluate(
        "Array.from(document.querySelectorAll('table.summary tbody tr'))"
        ".map(r => r.cells[1].getAttribute('data-sort'))"
    )
    assert names == sorted(names, key=lambda n: n.lower()) or names == sorted(names)
    assert page.log.console_errors == []


def test_compare_report_in_the_browser(page, tmp_path):
    from report_fixtures import diverging_result, healthy_result
    from test_compare import _run as make_run

    from loganalyzer.comparison import compare

    train_only = make_run("lucky/train.csv", {"loss": [1.0, 0.3, 0.05, 0.01]})
    analysis = Analysis(
        runs=[
            overfit_result(name="sweeps/2024-11-24/imagenet/resnet50/lr_1e-3/seed_0"),
            healthy_result(name="sweeps/2024-11-24/imagenet/resnet50/lr_1e-3/seed_1"),
            diverging_result(name="sweeps/2024-11-24/imagenet/resnet50/lr_1e-2/seed_0"),
            train_only,
        ]
    )
    text = html.render_compare(analysis, compare(analysis), with_plots=False)
    _open_and_shoot(page, tmp_path / "compare.html", text)
    info = page.evaluate(
        "(() => { const f = document.querySelector('figure.plot-compare');"
        " const img = f.querySelector('img'); const r = f.getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, ok: img.complete && img.naturalWidth > 0,"
        " width: r.width, text: document.body.innerText,"
        " rows: document.querySelectorAll('table.compare tbody tr').length}; })()"
    )
    assert info["ok"] and info["top"] < HEIGHT / 2 and info["width"] > WIDTH / 2
    assert info["rows"] == 3
    assert "Left out of the comparison" in info["text"]
    assert "lucky/train.csv: no validation loss logged" in info["text"]
    svg = base64.b64decode(
        page.evaluate("document.querySelector('figure.plot-compare img').src").split(",", 1)[1]
    ).decode()
    assert "Validation loss of each run" in svg
    for tail in ("lr_1e-3/seed_0", "lr_1e-3/seed_1", "lr_1e-2/seed_0"):
        assert tail in svg  # the legend keeps the distinctive end of each name
    assert page.log.console_errors == []
