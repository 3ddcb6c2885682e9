"""The Grafana panel types seamline uses, each with its options set (Grafana and the SDK's
decoder expect a panel's ``options``; a bare builder leaves them out)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import barchart, bargauge, heatmap, stat, statetimeline, table, text, timeseries
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import xychart as xy
from grafana_foundation_sdk.builders.dashboard import ThresholdsConfig
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models.text import TextMode
from grafana_foundation_sdk.models.xychart import ScatterShow, SeriesMapping

__all__ = ["bars", "gauge", "grid", "heat", "note", "scatter", "series", "single", "states", "thresholds"]


def _legend() -> cb.VizLegendOptions:
    return cb.VizLegendOptions().display_mode(cm.LegendDisplayMode.LIST).placement(cm.LegendPlacement.BOTTOM) \
        .show_legend(True)


def _tooltip() -> cb.VizTooltipOptions:
    return cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING)


def series(*, bars_style: bool = False, stacked: bool = False) -> timeseries.Panel:
    """Values over time (lines, or bars per interval), one series per tag combination."""
    p = timeseries.Panel().legend(_legend()).tooltip(_tooltip())
    if bars_style:
        p = p.draw_style(cm.GraphDrawStyle.BARS).fill_opacity(80)
    if stacked:
        p = p.stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL))
    return p


def bars(x_field: str, *, stacked: bool = False) -> barchart.Panel:
    """Categories (``x_field``: a tag column or time) as bars."""
    p = barchart.Panel().x_field(x_field).orientation(cm.VizOrientation.AUTO).show_value(cm.VisibilityMode.AUTO) \
        .legend(_legend()).tooltip(_tooltip())
    return p.stacking(cm.StackingMode.NORMAL) if stacked else p


def heat() -> heatmap.Panel:
    """One row per series (e.g. per factory), colour = value; values are not re-bucketed."""
    rows = heatmap.RowsHeatmapOptions().layout(cm.HeatmapCellLayout.UNKNOWN)
    return heatmap.Panel().calculate(False).rows_frame(rows).show_legend().show_tooltip()


def grid() -> table.Panel:
    return table.Panel().show_header(True).cell_height(cm.TableCellHeight.SM)


def gauge() -> bargauge.Panel:
    """A bar per series, its value over the time range."""
    return bargauge.Panel().display_mode(cm.BarGaugeDisplayMode.GRADIENT).orientation(cm.VizOrientation.HORIZONTAL) \
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))


def single(calc: str = "lastNotNull") -> stat.Panel:
    """One big number (``calc`` reduces each series over the time range, e.g. lastNotNull, sum)."""
    return stat.Panel().graph_mode(cm.BigValueGraphMode.AREA).color_mode(cm.BigValueColorMode.VALUE) \
        .reduce_options(cb.ReduceDataOptions().calcs([calc]).values(False))


def states(colours: dict[str, str]) -> statetimeline.Panel:
    """A row per series, coloured by its (string) state: ``colours`` maps state -> Grafana colour."""
    mapping = dm.ValueMap(options={k: dm.ValueMappingResult(color=c, text=k) for k, c in sorted(colours.items())})
    return statetimeline.Panel().show_value(cm.VisibilityMode.NEVER).merge_values(True).legend(_legend()) \
        .tooltip(_tooltip()).mappings([mapping]).row_height(0.8)


def scatter(x: str, y: str) -> xy.Panel:
    """``y`` against ``x`` as points (e.g. a turbine's power against wind speed)."""
    return xy.Panel().series_mapping(SeriesMapping.MANUAL).series([xy.ScatterSeriesConfig().x(x).y(y)
                                                                     .show(ScatterShow.POINTS)]) \
        .legend(_legend()).tooltip(_tooltip())


def note(markdown: str) -> text.Panel:
    return text.Panel().mode(TextMode.MARKDOWN).content(markdown)


def thresholds(*steps: tuple[float | None, str]) -> ThresholdsConfig:
    """Absolute colour steps: ``(None, "red"), (80, "green")`` = red below 80, green from 80."""
    return ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(
        [dm.Threshold(value=v, color=c) for v, c in steps])
