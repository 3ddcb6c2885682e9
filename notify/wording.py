"""The words of a notification, Chinese and English. Chinese is the default: it is what the
people on a garment cluster's shop floor and in its district office read."""

from __future__ import annotations

from typing import Final

WORDS: Final[dict[str, dict[str, str]]] = {
    "zh": {
        "firing": "告警",
        "resolved": "已恢复",
        "critical": "严重",
        "warning": "警告",
        "info": "提示",
        "alerts": "{n} 条",
        "where": "位置",
        "since": "开始时间",
        "for": "已持续",
        "ended": "恢复时间",
        "lasted": "持续",
        "value": "数值",
        "threshold": "阈值",
        "coverage": "数据覆盖率",
        "runbook": "处理手册",
        "more": "……另有 {n} 条未列出",
        "minutes": "{n} 分钟",
        "hours": "{h} 小时 {m} 分钟",
        "days": "{d} 天 {h} 小时",
        "gateway": "网关",
        "list_sep": "；",
        "colon": "：",
    },
    "en": {
        "firing": "FIRING",
        "resolved": "RESOLVED",
        "critical": "critical",
        "warning": "warning",
        "info": "info",
        "alerts": "{n} alerts",
        "where": "Where",
        "since": "Since",
        "for": "for",
        "ended": "Resolved at",
        "lasted": "lasted",
        "value": "Value",
        "threshold": "threshold",
        "coverage": "Data coverage",
        "runbook": "Runbook",
        "more": "... and {n} more not listed",
        "minutes": "{n} min",
        "hours": "{h} h {m} min",
        "days": "{d} d {h} h",
        "gateway": "gateway",
        "list_sep": "; ",
        "colon": ": ",
    },
}


def word(language: str, key: str, **kwargs: object) -> str:
    text = WORDS[language][key]
    return text.format(**kwargs) if kwargs else text
