"""The HTML report: pure rendering, the CLI's ``report --format html``, a real browser."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit import _demo
from creditcommit.cli import main
from creditcommit.metrics import Report
from creditcommit.report_html import render_html, report_periods

CHARTS = ("routes", "reduced", "processing", "deferred", "verification", "revocations", "draws")


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("demo") / "store"
    _demo.run(io.StringIO(), where)
    return where / "creditcommit.toml"


def _html(config: Path, lang: str = "zh") -> str:
    out = io.StringIO()
    code = main(
        [
            "--config",
            str(config),
            "report",
            "--from",
            "2023-01-01",
            "--to",
            "2025-12-31",
            "--format",
            "html",
            "--lang",
            lang,
        ],
        out,
    )
    assert code == 0
    return out.getvalue()


@given(
    start=st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)),
    length=st.integers(0, 4000),
)
def test_periods_cover_the_period_without_gap_or_overlap(start: dt.date, length: int) -> None:
    end = start + dt.timedelta(days=length)
    parts = report_periods(start, end)
    assert parts[0][0] == start
    assert parts[-1][1] == end
    for (_, last), (first, _) in itertools.pairwise(parts):
        assert first == last + dt.timedelta(days=1)
    assert all(first <= last for first, last in parts)
    assert len(parts) <= 24 or all(first.month % 3 == 1 or first == start for first, _ in parts)


def test_periods_refuse_an_inverted_period() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        report_periods(dt.date(2025, 2, 1), dt.date(2025, 1, 1))


def test_the_page_is_self_contained_with_one_chart_per_figure(demo_config: Path) -> None:
    page = _html(demo_config)
    assert page.startswith("<!DOCTYPE html>")
    for forbidden in ("<script", "<link", " src=", "@import", "url("):
        assert forbidden not in page
    # The only URL is the SVG namespace, which is a name, not a fetch.
    assert set(re.findall(r"https?://[^\"' ]+", page)) == {"http://www.w3.org/2000/svg"}
    for name in CHARTS:
        assert f'data-chart="{name}"' in page
    assert page.count('class="bar"') >= len(CHARTS)


def test_headings_are_chinese_by_default_and_english_on_request(demo_config: Path) -> None:
    zh = _html(demo_config)
    en = _html(demo_config, "en")
    assert '<html lang="zh-CN">' in zh
    assert "各期申请件数（按审批路径）" in zh
    assert "Applications by route over time" not in zh
    assert "Applications by route over time" in en
    assert '<html lang="en">' in en


def test_bars_carry_the_report_figures(demo_config: Path) -> None:
    page = _html(demo_config, "en")
    routes = page.split('data-chart="routes"')[1].split("</svg>")[0]
    values = [int(v) for v in re.findall(r'data-value="(\d+)"', routes)]
    report = Report.from_json(_json(demo_config))
    figures = report.total.figures
    assert sum(values) == figures.direct + figures.conditional + figures.standard


def _json(config: Path) -> str:
    out = io.StringIO()
    args = ["--config", str(config), "report", "--from", "2023-01-01", "--to", "2025-12-31"]
    assert main([*args, "--format", "json"], out) == 0
    return out.getvalue()


def test_names_are_escaped() -> None:
    from creditcommit.catalog import Catalog
    from creditcommit.metrics import Figures, Row, Scope

    catalog = Catalog.sample()
    summary = catalog.summary(dt.date(2025, 12, 31))
    total = Row(scope=Scope.TOTAL, figures=Figures())
    item = Row(
        scope=Scope.ITEM, figures=Figures(), code="X<1>", name="<b>&", department="D<script>"
    )
    dept = Row(scope=Scope.DEPARTMENT, figures=Figures(), department="D<script>")
    report = Report(
        start=dt.date(2025, 1, 1),
        end=dt.date(2025, 12, 31),
        catalog=summary,
        items=[item],
        departments=[dept],
        total=total,
    )
    page = render_html(report)
    assert "<script" not in page
    assert "D&lt;script&gt;" in page
    assert "本期无数据" in page


def test_an_unknown_language_is_refused(demo_config: Path) -> None:
    report = Report.from_json(_json(demo_config))
    with pytest.raises(ValueError, match="lang"):
        render_html(report, lang="fr")  # type: ignore[arg-type]


# --- a real browser ----------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ENABLE = (
    "the headless-browser check needs Debian's chromium and chromium-driver "
    "(apt-get install -y chromium chromium-driver) and selenium (pip install -e '.[dev]'); "
    ".ci/run installs them"
)


def _driver() -> Any:
    if CHROMIUM is None or CHROMEDRIVER is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser check: {ENABLE}")
        pytest.skip(ENABLE)
    webdriver = pytest.importorskip("selenium.webdriver", reason=ENABLE)
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1200,2000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_page_renders_in_headless_chromium(
    demo_config: Path, tmp_path: Path, lang: str
) -> None:
    page = tmp_path / "report.html"
    page.write_text(_html(demo_config, lang), encoding="utf-8")
    driver = _driver()
    try:
        driver.get(page.as_uri())
        charts = driver.execute_script(
            """
            return Array.from(document.querySelectorAll('svg.chart')).map(svg => {
              const box = svg.getBoundingClientRect();
              const bars = Array.from(svg.querySelectorAll('rect.bar'))
                .filter(bar => bar.getBBox().height > 0).length;
              return {name: svg.dataset.chart, width: box.width, height: box.height, bars};
            });
            """
        )
        errors = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
        title = driver.title
    finally:
        driver.quit()
    assert errors == []
    assert [chart["name"] for chart in charts] == list(CHARTS)
    for chart in charts:
        assert chart["width"] > 100, chart
        assert chart["height"] > 50, chart
        assert chart["bars"] >= 1, chart
    assert ("统计报表" if lang == "zh" else "statistics") in title
