"""The period report as one self-contained HTML page with inline SVG charts (统计报表网页).

:func:`render_html` turns the :class:`~creditcommit.metrics.Report` of a period, and the
reports of its months or quarters (:func:`report_periods`), into a page that needs nothing else:
no network, no stylesheet, script or font from elsewhere. It is pure: it returns text.

The charts are drawn by the small SVG writer in this module rather than by a plotting
library: seven bar charts need about a hundred lines, the output is deterministic (the
tests compare it), it stays free of fonts and system libraries, and it adds no dependency.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from fractions import Fraction
from typing import Literal

from creditcommit.metrics import Figures, Report, Row

__all__ = ["render_html", "report_periods"]

Language = Literal["zh", "en"]

# Colour-blind-safe palette (Okabe-Ito).
_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#999999")

_WORDS: dict[str, tuple[str, str]] = {
    "title": ("信用+承诺审批统计报表", "Credit + commitment approvals: statistics"),
    "period": ("统计期间：{start} 至 {end}", "Period: {start} to {end}"),
    "routes": ("各期申请件数（按审批路径）", "Applications by route over time"),
    "reduced": ("申请材料缩减（按事项）", "Materials reduced, by item"),
    "processing": (
        "办理用时与法定时限（工作日，平均）",
        "Processing time against the statutory limit (working days, mean)",
    ),
    "deferred": ("容缺受理材料补齐情况", "Deferred materials: on time or late"),
    "verification": ("事后核查结果", "Verification outcomes"),
    "revocations": ("整改、撤销与失信记录", "Rectifications, revocations and records"),
    "draws": ("双随机抽查（按信用等级）", "Random inspection draws, by credit grade"),
    "items": ("分事项统计", "Figures per item"),
    "departments": ("分部门统计", "Figures per department"),
    "item": ("事项", "item"),
    "department": ("部门", "department"),
    "total": ("合计", "total"),
    "nodata": ("本期无数据", "no data in the period"),
    "mean_processing": ("平均用时", "mean processing"),
    "mean_statutory": ("平均法定时限", "mean statutory limit"),
    "summary": (
        "申请{submitted}件，发证{issued}件，减免材料{reduced}份。",
        "{submitted} applications, {issued} licences issued, {reduced} materials reduced.",
    ),
}

_LABELS: dict[str, tuple[str, str]] = {
    "submitted": ("申请", "submitted"),
    "direct": ("直接适用", "direct"),
    "conditional": ("有条件适用", "conditional"),
    "standard": ("一般程序", "standard"),
    "accepted": ("受理", "accepted"),
    "materials_reduced": ("减免材料", "materials reduced"),
    "deferred": ("容缺材料", "deferred"),
    "licences_issued": ("发证", "issued"),
    "within_statutory_limit": ("法定时限内", "within the limit"),
    "deferred_on_time": ("按期补齐", "on time"),
    "deferred_late": ("逾期补齐", "late"),
    "deferred_outstanding": ("尚未补齐", "outstanding"),
    "deferred_overdue": ("容缺逾期", "overdue"),
    "verified_fulfilled": ("履行承诺", "fulfilled"),
    "verified_unfulfilled": ("未履行承诺", "unfulfilled"),
    "verified_false": ("虚假承诺", "false commitment"),
    "rectifications_ordered": ("责令整改", "rectification ordered"),
    "revocations": ("撤销许可", "revoked"),
    "credit_records": ("失信记录", "credit records"),
    "population": ("名录库对象", "population"),
    "drawn": ("抽中对象", "drawn"),
}

_TABLE_FIELDS = (
    "submitted",
    "direct",
    "conditional",
    "standard",
    "accepted",
    "materials_reduced",
    "deferred",
    "licences_issued",
    "within_statutory_limit",
    "verified_fulfilled",
    "revocations",
    "credit_records",
)

_STYLE = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif;
margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222;line-height:1.5}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem}
.chart{width:100%;height:auto;max-width:56rem}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}
th,td{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}tr.total td{font-weight:bold}
.lede{color:#555}.scroll{overflow-x:auto}
"""


def report_periods(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """``[start, end]`` cut into calendar months, or quarters if that is more than 24 months.

    The first and last parts are clipped to ``start`` and ``end``; the parts cover the period
    without gap or overlap.

    >>> for first, last in report_periods(dt.date(2025, 1, 15), dt.date(2025, 3, 2)):
    ...     print(first, last)
    2025-01-15 2025-01-31
    2025-02-01 2025-02-28
    2025-03-01 2025-03-02
    """
    if end < start:
        raise ValueError(f"the period ends on {end}, before it starts on {start}")
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    step = 1 if months <= 24 else 3
    found: list[tuple[dt.date, dt.date]] = []
    year, month = start.year, start.month - (start.month - 1) % step
    while True:
        first = dt.date(year, month, 1)
        month += step
        if month > 12:
            year, month = year + 1, month - 12
        last = dt.date(year, month, 1) - dt.timedelta(days=1)
        found.append((max(first, start), min(last, end)))
        if last >= end:
            return found


def _label(start: dt.date, end: dt.date) -> str:
    months = (end.year - start.year) * 12 + end.month - start.month
    if months == 0:
        return f"{start.year}-{start.month:02d}"
    return f"{start.year}Q{(start.month - 1) // 3 + 1}"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _bar_chart(
    name: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    stacked: bool = False,
    nodata: str,
) -> str:
    """A bar chart (grouped or stacked) as an inline ``<svg>`` element."""
    width, height = 720, 300
    left, right, top, bottom = 48, 12, 40, 70
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = (
        [sum(values[i] for _, values in series) for i in range(len(categories))]
        if stacked
        else [max((values[i] for _, values in series), default=0) for i in range(len(categories))]
    )
    top_value = max(totals, default=0)
    scale_max = _nice(top_value)
    parts = [
        f'<svg class="chart" data-chart="{_e(name)}" role="img" viewBox="0 0 {width} {height}"'
        f' xmlns="http://www.w3.org/2000/svg" aria-labelledby="{_e(name)}-title">',
        f'<title id="{_e(name)}-title">{_e(title)}</title>',
    ]
    for tick in range(5):
        value = scale_max * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e3e3e3"/><text x="{left - 6}" y="{y + 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="#555">{_fmt(value)}</text>'
        )
    slot = plot_w / max(len(categories), 1)
    bar_w = slot * 0.7 / (1 if stacked else max(len(series), 1))
    for i, category in enumerate(categories):
        x0 = left + slot * i + slot * 0.15
        base = 0.0
        for j, (label, values) in enumerate(series):
            value = values[i]
            h = plot_h * value / scale_max if scale_max else 0.0
            x = x0 if stacked else x0 + bar_w * j
            y = top + plot_h - h - (plot_h * base / scale_max if stacked and scale_max else 0)
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{_COLOURS[j % len(_COLOURS)]}" '
                f'data-value="{_fmt(value)}"><title>{_e(category)} · {_e(label)}: '
                f"{_fmt(value)}</title></rect>"
            )
            base += value
        cx = left + slot * i + slot / 2
        parts.append(
            f'<text x="{cx:.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle" '
            f'fill="#333">{_e(category)}</text>'
        )
    x = left
    for j, (label, _) in enumerate(series):
        parts.append(
            f'<rect x="{x}" y="{height - 22}" width="12" height="12" '
            f'fill="{_COLOURS[j % len(_COLOURS)]}"/><text x="{x + 16}" y="{height - 12}" '
            f'font-size="12" fill="#333">{_e(label)}</text>'
        )
        x += 24 + 13 * len(label)
    if top_value == 0:
        parts.append(
            f'<text x="{width / 2}" y="{top + plot_h / 2}" font-size="14" text-anchor="middle" '
            f'fill="#777">{_e(nodata)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _nice(value: float) -> float:
    """The top of the scale: four ticks of 1, 2 or 5 × 10ⁿ each, at or above ``value``."""
    if value <= 0:
        return 0.0
    tick = 1.0
    while tick * 4 < value:
        for factor in (2.0, 2.5, 2.0):
            tick *= factor
            if tick * 4 >= value:
                break
    return tick * 4


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _mean(value: Fraction | None) -> float:
    return 0.0 if value is None else float(value)


def _table(rows: Sequence[tuple[str, Figures, bool]], head: str, pick: int) -> str:
    cells = "".join(f"<th>{_e(_LABELS[name][pick])}</th>" for name in _TABLE_FIELDS)
    out = [f'<div class="scroll"><table><thead><tr><th>{_e(head)}</th>{cells}</tr></thead><tbody>']
    for label, figures, total in rows:
        values = "".join(f"<td>{getattr(figures, name)}</td>" for name in _TABLE_FIELDS)
        out.append(f"<tr{' class=total' if total else ''}><td>{_e(label)}</td>{values}</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _item_label(row: Row, pick: int) -> str:
    return row.code if pick else f"{row.name}（{row.code}）"


def render_html(report: Report, parts: Sequence[Report] = (), *, lang: Language = "zh") -> str:
    """The report as a self-contained HTML page, Chinese (``"zh"``) or English.

    :param report: the statistics of the whole period (:func:`~creditcommit.metrics.statistics`).
    :param parts: the statistics of consecutive parts of that period (see :func:`report_periods`)
        for the chart of applications over time; without them that chart has one bar.
    :param lang: ``"zh"`` (default) or ``"en"``.
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    pick = 0 if lang == "zh" else 1

    def word(key: str, **values: object) -> str:
        return _WORDS[key][pick].format(**values)

    def label(name: str) -> str:
        return _LABELS[name][pick]

    total = report.total.figures
    over_time = list(parts) or [report]
    items = report.items
    item_names = [_item_label(row, pick) for row in items]
    charts = [
        (
            "routes",
            [_label(part.start, part.end) for part in over_time],
            [
                (label(name), [getattr(part.total.figures, name) for part in over_time])
                for name in ("direct", "conditional", "standard")
            ],
            True,
        ),
        (
            "reduced",
            item_names,
            [
                (label(name), [getattr(row.figures, name) for row in items])
                for name in ("materials_reduced", "deferred")
            ],
            False,
        ),
        (
            "processing",
            item_names,
            [
                (
                    word("mean_processing"),
                    [_mean(row.figures.processing_days_mean) for row in items],
                ),
                (
                    word("mean_statutory"),
                    [_mean(row.figures.statutory_days_mean) for row in items],
                ),
            ],
            False,
        ),
        (
            "deferred",
            [word("total")],
            [
                (label(name), [getattr(total, name)])
                for name in (
                    "deferred_on_time",
                    "deferred_late",
                    "deferred_outstanding",
                    "deferred_overdue",
                )
            ],
            False,
        ),
        (
            "verification",
            [word("total")],
            [
                (label(name), [getattr(total, name)])
                for name in ("verified_fulfilled", "verified_unfulfilled", "verified_false")
            ],
            False,
        ),
        (
            "revocations",
            [word("total")],
            [
                (label(name), [getattr(total, name)])
                for name in ("rectifications_ordered", "revocations", "credit_records")
            ],
            False,
        ),
        (
            "draws",
            [grade.grade for grade in report.draws.grades],
            [
                (label(name), [getattr(grade, name) for grade in report.draws.grades])
                for name in ("population", "drawn")
            ],
            False,
        ),
    ]
    body = [
        f"<h1>{_e(word('title'))}</h1>",
        f'<p class="lede">{_e(word("period", start=report.start, end=report.end))}<br>'
        f"{_e(report.catalog.format().splitlines()[pick])}<br>"
        + _e(
            word(
                "summary",
                submitted=total.submitted,
                issued=total.licences_issued,
                reduced=total.materials_reduced,
            )
        )
        + "</p>",
    ]
    for name, categories, series, stacked in charts:
        body.append(f'<section id="{name}"><h2>{_e(word(name))}</h2>')
        body.append(
            _bar_chart(name, word(name), categories, series, stacked=stacked, nodata=word("nodata"))
        )
        body.append("</section>")
    body.append(f'<section id="tables"><h2>{_e(word("items"))}</h2>')
    body.append(
        _table(
            [(_item_label(row, pick), row.figures, False) for row in items]
            + [(word("total"), total, True)],
            word("item"),
            pick,
        )
    )
    body.append(f"<h2>{_e(word('departments'))}</h2>")
    body.append(
        _table(
            [(row.department, row.figures, False) for row in report.departments]
            + [(word("total"), total, True)],
            word("department"),
            pick,
        )
    )
    body.append("</section>")
    return (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(word('title'))} {report.start}–{report.end}</title>"
        f"<style>{_STYLE}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )
