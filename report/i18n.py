"""The report's words, Chinese first and English beside it. Both languages go into the page; the
reader switches between them without a request (``render``). Pure data and lookups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Text:
    """A phrase in both languages."""

    zh: str
    en: str

    @classmethod
    def same(cls, text: str) -> Text:
        """Names, ids and figures: the same in both languages."""
        return cls(text, text)


WORDS: Final[dict[str, Text]] = {
    "factory_title": Text("生产日报", "Daily production report"),
    "cluster_title": Text("产业集群日报", "Cluster daily report"),
    "switch": Text("English", "中文"),
    "generated": Text("生成时间", "Generated"),
    "day": Text("日期", "Day"),
    "timezone": Text("时区", "Time zone"),
    "summary": Text("当日概况", "The day at a glance"),
    "output": Text("产量（合格件）", "Output (good pieces)"),
    "target": Text("目标", "Target"),
    "utilization": Text("设备利用率", "Utilization"),
    "efficiency": Text("生产线效率", "Line efficiency"),
    "oee": Text("OEE", "OEE"),
    "availability": Text("可用率", "Availability"),
    "performance": Text("表现性", "Performance"),
    "quality": Text("良品率", "Quality"),
    "coverage": Text("数据覆盖率", "Data coverage"),
    "flags": Text("标记", "Flags"),
    "low_coverage": Text("覆盖率低", "low coverage"),
    "lines": Text("生产线", "Lines"),
    "line": Text("生产线", "Line"),
    "shift": Text("班次", "Shift"),
    "whole_day": Text("全天", "Whole day"),
    "line_kpis": Text("各生产线指标", "Line KPIs"),
    "line_kpis_chart": Text("各生产线利用率、效率和 OEE", "Utilization, efficiency and OEE per line"),
    "downtime": Text("停机原因（帕累托）", "Downtime by reason (Pareto)"),
    "reason": Text("原因", "Reason"),
    "minutes": Text("分钟", "Minutes"),
    "share": Text("占比", "Share"),
    "cumulative": Text("累计占比", "Cumulative"),
    "hourly": Text("每小时产量与目标", "Hourly output against target"),
    "hour": Text("时段", "Hour"),
    "pieces": Text("件数", "Pieces"),
    "energy": Text("能源", "Energy"),
    "site": Text("厂区", "Site"),
    "consumption": Text("用电量（kWh）", "Consumption (kWh)"),
    "kwh_per_piece": Text("单件能耗（kWh/件）", "Energy per piece (kWh/piece)"),
    "green_share": Text("绿电占比", "Green share"),
    "capacity": Text("未来 14 天空闲产能", "Free capacity, next 14 days"),
    "capacity_chart": Text("每日可用与已订标准分钟", "Available and booked standard minutes per day"),
    "available": Text("可用（标准分钟）", "Available (std min)"),
    "booked": Text("已订（标准分钟）", "Booked (std min)"),
    "free": Text("空闲（标准分钟）", "Free (std min)"),
    "capacity_lines": Text("各线产能（测得效率与置信度）", "Per line (measured efficiency, confidence)"),
    "confidence": Text("置信度", "Confidence"),
    "published_at": Text("发布时间", "Published"),
    "orders": Text("订单", "Orders"),
    "allocated": Text("已分配订单", "Allocated orders"),
    "unmet": Text("未满足订单", "Unmet orders"),
    "unmet_factory": Text("本厂可做品类中未满足的订单", "Unmet orders in categories this factory makes"),
    "order": Text("订单号", "Order"),
    "buyer": Text("买家", "Buyer"),
    "category": Text("品类", "Category"),
    "days": Text("生产日", "Days"),
    "due": Text("交期", "Due"),
    "std_min": Text("标准分钟", "Std min"),
    "detail": Text("说明", "Detail"),
    "plan": Text("排产计划", "Plan"),
    "alerts": Text("当日告警", "The day's alerts"),
    "severity": Text("级别", "Severity"),
    "what": Text("内容", "What"),
    "where": Text("位置", "Where"),
    "since": Text("开始", "Since"),
    "until": Text("结束", "Until"),
    "state": Text("状态", "State"),
    "value": Text("数值（阈值）", "Value (threshold)"),
    "runbook": Text("处理手册", "Runbook"),
    "notes": Text("数据说明", "About the data"),
    "table": Text("表格", "Table"),
    "none": Text("无", "None"),
    "no_data": Text("无数据", "no data"),
    "factories": Text("各企业", "Enterprises"),
    "enterprise": Text("企业", "Enterprise"),
    "oee_histogram": Text("企业 OEE 分布", "Enterprises by OEE"),
    "oee_band": Text("OEE 区间", "OEE band"),
    "count": Text("企业数", "Enterprises"),
    "lines_covered": Text("覆盖率达标的生产线", "Lines with enough data coverage"),
    "free_14d": Text("14 天空闲（标准分钟）", "Free, 14 days (std min)"),
    "alert_count": Text("告警", "Alerts"),
    "more_not_listed": Text("另有 {n} 条未列出", "{n} more not listed"),
    "firing": Text("告警中", "firing"),
    "resolved": Text("已恢复", "resolved"),
    "suppressed": Text("已抑制", "suppressed"),
    "critical": Text("严重", "critical"),
    "warning": Text("警告", "warning"),
    "info": Text("提示", "info"),
    "other": Text("其他", "other"),
}

# Downtime reasons as the rules engine tags them (kpi_downtime ``reason``): breakdowns carry the
# edge's reason code, stops (idle >= the stop threshold) the idle event's reason if it had one.
REASONS: Final[dict[str, Text]] = {
    "breakdown.needle": Text("断针", "Needle"),
    "breakdown.thread": Text("断线", "Thread"),
    "breakdown.motor": Text("电机故障", "Motor"),
    "breakdown.mechanic": Text("等待机修", "Waiting for mechanic"),
    "breakdown": Text("故障（未说明）", "Breakdown (no reason)"),
    "breakdown.none": Text("故障（未说明）", "Breakdown (no reason)"),
    "stop": Text("停顿（原因未知）", "Stop (reason unknown)"),
    "stop.no_work": Text("待料", "No work"),
    "stop.changeover": Text("换款", "Changeover"),
    "stop.break": Text("休息", "Break"),
    "stop.repaired": Text("修复后空闲", "Idle after repair"),
    "other": Text("其他", "Other"),
}

UNMET_REASONS: Final[dict[str, Text]] = {
    "no_eligible_factory": Text("没有可做该品类的工厂", "No factory makes the category"),
    "insufficient_capacity_before_due": Text("交期前产能不足", "Not enough capacity before the due day"),
    "below_minimum_quantity": Text("低于工厂最小起订量", "Below the factories' minimum quantity"),
    "invalid_order": Text("订单数据无效", "Invalid order"),
    "green_requirement": Text("满足绿电/碳排要求的产线无余量",
                              "No room on lines meeting its green or CO2e requirement"),
    "not_placed_by_planner": Text("尚有产能但方案未安排（非最优解）",
                                  "Room left, not placed by the plan (not proven optimal)"),
}

NOTES: Final[dict[str, Text]] = {
    "no_kpis": Text("当日没有 KPI 数据（规则引擎尚未计算或没有遥测数据）。",
                    "No KPI points for the day (the rules engine has not computed them, or there was no telemetry)."),
    "no_day_window": Text("生产线 {line} 没有全天（1d）KPI，只显示班次数据。",
                          "Line {line} has no whole-day (1d) KPI point; only its shifts are shown."),
    "low_coverage": Text("生产线 {line} 的数据覆盖率为 {coverage}，低于阈值：指标只代表观测到的时间。",
                         "Line {line} has {coverage} data coverage, below the threshold: its KPIs describe the "
                         "observed time only."),
    "no_hourly": Text("生产线 {line} 没有小时 KPI，无法画每小时产量。",
                      "Line {line} has no hourly KPI points: no hourly output to draw."),
    "no_style": Text("生产线 {line} 没有设定款式（SAM），没有每小时目标。",
                     "Line {line} has no style (SAM) in master data: no hourly target."),
    "platform_problem": Text("无法读取产能与订单分配（{source}）：{problem}",
                             "Capacity and allocations could not be read ({source}): {problem}"),
    "platform_rejected": Text("{n} 条保留消息无效，已忽略。", "{n} retained messages were invalid and ignored."),
    "no_capacity": Text("代理服务器上没有本厂的产能消息（规则引擎的产能发布尚未运行？）。",
                        "No capacity message for this factory on the broker (has the rules capacity feed run?)."),
    "no_plan": Text("未提供排产计划摘要（seamline match --summary-out），无法列出未满足订单。",
                    "No plan summary given (seamline match --summary-out): unmet orders cannot be listed."),
    "plan_problem": Text("排产计划摘要无法读取（{source}）：{problem}",
                         "The plan summary could not be read ({source}): {problem}"),
    "plan_mismatch": Text("未满足订单来自计划 {summary}，而分配消息来自计划 {allocations}。",
                          "Unmet orders come from plan {summary}, the allocations from plan {allocations}."),
    "no_alert_source": Text("未配置告警来源（--alertmanager）。", "No alert source configured (--alertmanager)."),
    "alerts_current": Text("告警来自 Alertmanager（{source}）：只有生成报告时仍在告警或被抑制的告警；当日已恢复的告警"
                           "Alertmanager 不再保留。",
                           "Alerts come from Alertmanager ({source}): only those still firing or suppressed when the "
                           "report was made; Alertmanager keeps no record of the day's resolved alerts."),
    "alerts_problem": Text("无法读取告警（{source}）：{problem}", "Alerts could not be read ({source}): {problem}"),
    "factories_cut": Text("只列出 OEE 最低的 {shown} 家企业（共 {total} 家）。",
                          "Only the {shown} enterprises with the lowest OEE are listed (of {total})."),
}


def text(key: str) -> Text:
    return WORDS[key]


def reason_text(code: str) -> Text:
    """A downtime reason code as people say it; unknown codes as they are."""
    return REASONS.get(code) or Text.same(code)


def unmet_text(code: str) -> Text:
    return UNMET_REASONS.get(code) or Text.same(code)


def note(key: str, **values: object) -> Text:
    t = NOTES[key]
    return Text(t.zh.format(**values), t.en.format(**values))
