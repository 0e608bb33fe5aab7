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
    assert before == [
        "overfit/history.json",
        "healthy/history.json",
        "diverging/training.csv",
        "negative/metrics.csv",
    ]
    page.evaluate("document.querySelectorAll('table.summary th button')[2].click()")
    ascending = page.evaluate(names)  # by best val loss: -4.08, 0.118, 0.189, 1.65
    assert ascending == [before[3], before[1], before[0], before[2]]
    page.evaluate("document.querySelectorAll('table.summary th button')[2].click()")
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
            "Array.from(document.querySelectorAll('section.run'))"
            ".map(s => getComputedStyle(s).breakBefore)"
        )
        hint = page.evaluate("getComputedStyle(document.querySelector('.hint')).display")
    finally:
        page.send("Emulation.setEmulatedMedia", {"media": ""})
    assert breaks == ["page"] * 4  # the summary, then each run on a page of its own
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
