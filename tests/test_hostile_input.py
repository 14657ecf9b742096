"""Every regular expression that runs on a visitor's text scans it in linear time: 200,000
characters shaped to make a backtracking pattern work hardest finish well inside a generous
timeout (the quadratic ``count_pattern`` needed minutes). A pattern stuck in ``re`` holds the
GIL, so the check runs in a child process that the timeout can kill."""

from __future__ import annotations

import subprocess
import sys
import textwrap

N = 200_000
TIMEOUT_S = 60  # a bound, not a measurement: linear scans take well under a second each

#: Runs in the child: every pattern the question path applies to user text, on each hostile shape.
SCRIPT = textwrap.dedent(f"""
    from rag.ingest.catalogue import ReportCatalogue
    from rag.genre.lexicon import Lexicon
    from rag.answer.query import QueryAnalyzer

    lexicon = Lexicon.default()
    analyzer = QueryAnalyzer(lexicon)
    patterns = {{
        "count_pattern": analyzer._count_re,
        "chapter_pattern": analyzer._chapter_re,
        "measure": analyzer._measure_re,
        "rank form": lexicon.kinds["rank"].form,
        **{{f"english place {{i}}": p for i, p in enumerate(ReportCatalogue().rules.english_places)}},
    }}
    n = {N}
    shapes = {{
        "digits": "1" * n,
        "cn digits": "一" * n,
        "ordinal then digits": "第" + "1" * n,
        "ordinal then spaces": "第" + " " * n,
        "ordinals": "第1" * (n // 2),
        "which then digits": "哪" + "2" * n,
        "digits and spaces": "1 " * (n // 2),
        "how many then tens": "几" + "十" * n,
        "how many, spaced": "几 " * (n // 2),
        "report text": "报" * n,
        "one long name": "A" + "a" * n,
        "name then spaces": "of Ab" + " " * n + "x",
    }}
    for pname, pattern in patterns.items():
        for sname, text in shapes.items():
            pattern.sub(" ", text)
            pattern.search(text)
    print("ok", len(patterns), len(shapes))
""")


def test_patterns_on_user_text_are_linear():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=TIMEOUT_S)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok", "6", "12"]


def test_a_200_000_character_question_is_refused_before_any_pattern_runs():
    """The page and the API share one rule: cleaned, then at most 1,000 characters."""
    import pytest

    from rag.api.schemas import clean_question

    assert clean_question("  今年\x00GDP要涨多少？ ") == "今年GDP要涨多少？"
    for bad in ("报" * N, "", "\x00\x01", None, 42, ["今年"]):
        with pytest.raises(ValueError):
            clean_question(bad)
