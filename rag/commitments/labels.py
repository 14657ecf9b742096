"""How the tracker's codes are named to people, in Chinese and English: a record's kind
(target, achievement) and a target's fate in the next report (met, missed, not reported).

One table for the terminal and Markdown tables, the CSV, the page, chat, the ledger and the API;
the JSON keeps the codes.
"""

from __future__ import annotations

#: a record's kind
KIND_LABELS = {"target": "目标", "achievement": "成绩"}
KIND_LABELS_EN = {"target": "Target", "achievement": "Achievement"}
#: a target's fate in the same place's next report
PROMISE_LABELS = {"met": "已完成", "missed": "未完成", "not_reported": "未报告"}
PROMISE_LABELS_EN = {"met": "Met", "missed": "Missed", "not_reported": "Not reported"}


def promise_label(code: str, lang: str = "zh") -> str:
    """``已完成`` / ``Met`` for ``met``; an unknown code as it is."""
    return (PROMISE_LABELS_EN if lang == "en" else PROMISE_LABELS).get(code, code)
