"""The genre layer and the query analyser, without the embedding model: text forms, the one
review/plan reading of headings, question kinds, and a data-driven table of question readings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SEED_DIR

from rag.answer.query import QueryAnalyzer
from rag.genre.lexicon import DATA_DIR, Lexicon, LexiconError
from rag.genre.text import TOKENIZER_VERSION, chinese_number, contains_word, has_figure_in, strip_span, tokenize

TABLE = Path(__file__).parent / "fixtures" / "query_table.tsv"


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.default()


# --- text forms ------------------------------------------------------------------------------
@pytest.mark.parametrize(("numeral", "value"), [("四", 4), ("十", 10), ("十二", 12), ("二十", 20), ("三百零五", 305),
                                                ("一千二百", 1200), ("二〇二三", 2023), ("两", 2), ("12", 12)])
def test_one_chinese_numeral_parser(numeral, value):
    assert chinese_number(numeral) == value


def test_strip_span_keeps_offsets():
    text = "，  增长7%。"
    a, b = strip_span(text, 0, len(text), "， 。")
    assert text[a:b] == "增长7%" and (a, b) == (3, 7)


def test_tokenize_search_mode_and_version():
    assert {"生产总值", "生产", "增长"} <= set(tokenize("地区生产总值增长7%")) and "，" not in tokenize("就业，民生")
    assert TOKENIZER_VERSION  # recorded in the index manifest: a change makes the index stale


@pytest.mark.parametrize(("text", "measure", "found"), [
    ("新建高速公路6782公里", "公里", True), ("九方面重点工作", "方面", True), ("增长8%", "%", True),
    ("10.73万农村贫困人口", "人", True), ("新建高速公路", "公里", False), ("培育企业3家", "个|条|项|家", True),
    ("提高0.5个百分点", "%", True), ("增长８％", "%", True), ("增长8个点", "%", False), ("培育企业三家", "个|条|项", False)])
def test_figure_in_unit(text, measure, found):
    assert has_figure_in(text, measure) is found


# --- sections --------------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "plan_year", "scope", "horizon", "label"), [
    (("一、过去五年工作回顾", "（一）圆满完成脱贫攻坚目标任务"), 2023, "review", "过去五年", "过去五年"),
    (("二、2023年工作总体要求和主要目标", "1. 主要预期目标"), 2023, "plan", "2023", "2023年"),
    (("三、加强政府自身建设", "1. 强化政治建设"), 2023, "plan", "2023", None),
    (("第一部分 2023年工作回顾",), 2024, "review", "2023", "2023年"),
    (("第二部分 2024年主要工作",), 2024, "plan", "2024", "2024年"),
    (("五年来的主要工作",), None, "review", "五年来", "五年来"),
    (("前言",), 2023, None, "", None),
    (("青禾县2024年政府工作报告",), 2024, None, "", "2024年"),
    # the root of a Markdown report's tree: its title neither scopes nor labels the chapters under it
    (("青禾县2024年政府工作报告", "一、2023年工作回顾", "（一）坚持工业强县"), 2024, "review", "2023", "2023年"),
    (("青禾县2024年政府工作报告", "四、加强政府自身建设"), 2024, "plan", "2024", None),
])
def test_one_reading_of_review_and_plan(lexicon, path, plan_year, scope, horizon, label):
    period = lexicon.section_period(path, plan_year)
    assert (period.scope, period.horizon, period.label) == (scope, horizon, label)
    assert lexicon.section_scope(path, plan_year) == scope


def test_a_table_defined_twice_is_an_error(tmp_path):
    for f in DATA_DIR.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "extra.toml").write_text("[sections]\nreview = []\n", "utf-8")
    with pytest.raises(LexiconError, match="sections"):
        Lexicon.load(tmp_path)


def test_kinds_come_from_data(lexicon):
    assert {"number", "rank", "name", "when", "who"} <= set(lexicon.kinds)
    assert lexicon.has_rank("居全省第4位") and lexicon.has_form("when", "2025年底前建成")
    assert lexicon.has_form("who", "张三同志") and not lexicon.has_form("who", "全市人民")


# --- the query analyser: question -> kinds, scope, measure ------------------------------------
def _rows() -> list[tuple[str, ...]]:
    lines = [ln for ln in TABLE.read_text("utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    return [tuple(ln.split("\t")) for ln in lines]


@pytest.mark.parametrize(("question", "kinds", "scope", "measure", "ordinal"), _rows())
def test_question_readings(question, kinds, scope, measure, ordinal):
    (part,) = QueryAnalyzer().analyze(question)
    none = lambda v: None if v == "-" else v  # noqa: E731
    assert sorted(part.kinds) == ([] if kinds == "-" else sorted(kinds.split(",")))
    assert (part.scope, part.measure) == (none(scope), none(measure))
    assert part.chapter == (None if ordinal == "-" else int(ordinal))


def test_two_part_question_shares_its_topic():
    first, second = QueryAnalyzer().analyze("过去五年城镇新增就业多少？今年目标是多少？")
    assert (first.scope, second.scope) == ("review", "plan")
    assert "就业" in second.topic


def test_follow_up_borrows_topic_and_kind():
    (part,) = QueryAnalyzer().analyze("那过去五年呢？", history=["今年GDP要涨多少？"])
    assert part.scope == "review" and part.wants_number and "GDP" in part.topic


def test_tokenize_gives_a_fresh_list_of_the_same_tokens_every_time():
    first = tokenize("今年GDP增长目标是多少")
    assert "gdp" in first and "目标" in first
    first.append("changed")
    assert tokenize("今年GDP增长目标是多少") == first[:-1]


def test_topics_are_remembered_per_text_within_a_bound(monkeypatch):
    """A remembered topic is the one read afresh, and the memory is cleared when full."""
    import rag.answer.query

    monkeypatch.setattr(rag.answer.query, "_TOPICS_KEPT", 2)
    analyzer, fresh = QueryAnalyzer(), QueryAnalyzer()
    questions = ["今年GDP要涨多少？", "过去五年城镇新增就业多少？", "那过去五年呢？", "今年GDP要涨多少？"]
    for q in questions:
        assert analyzer.topic(q) == fresh._topic(q) and analyzer.topic(q) == analyzer.topic(q)
        assert len(analyzer._topics) <= 2
    assert analyzer.analyze(questions[0]) == fresh.analyze(questions[0])


def test_abbreviations_expand_whole_ascii_words_in_any_case():
    analyzer = QueryAnalyzer()
    short, full = next((s, f) for s, f in analyzer.lexicon.abbreviations if s.isascii() and s.isalpha())
    assert full in analyzer.expand(f"今年{short.lower()}目标是多少") == analyzer.expand(f"今年{short.upper()}目标是多少")
    assert full not in analyzer.expand(f"今年x{short.lower()}x目标是多少")  # inside another word: no


def test_index_built_with_another_tokenizer_is_stale():
    from rag.stores.index import Manifest

    m = Manifest(model_id="m", dim=4, corpus_hash="h", chunker={}, n_documents=1, n_sections=1, n_units=1,
                 built_at="", tokenizer="jieba-search-0")
    assert any("tokenizer" in r for r in m.stale_reasons(corpus_hash="h", model_id="m", chunker={}))
    m.tokenizer = TOKENIZER_VERSION
    assert m.stale_reasons(corpus_hash="h", model_id="m", chunker={}) == []


def test_contains_word_matches_whole_ascii_words_any_case_and_chinese_substrings() -> None:
    """The compiled-once patterns keep the old meaning: whole words, case-insensitive, for ASCII."""
    assert contains_word("What was the GDP growth rate?", "rate")
    assert not contains_word("a separate line", "rate")
    assert contains_word("gdp", "GDP") and contains_word("GDP!", "gdp")
    assert not contains_word("GDPs", "gdp")
    assert contains_word("今年地区生产总值", "生产总值")
    assert not contains_word("生产", "生产总值")


def test_pos_tagger_tags_as_jieba_does():
    """The faster Viterbi decodes exactly as jieba.posseg: every evaluation question, the seed
    report's sentences and random runs of characters (known, rare, with place endings)."""
    import json
    import random

    import jieba.posseg as posseg

    from rag.genre.postag import tagger

    root = Path(__file__).parent.parent
    texts = [json.loads(line)["question"] for name in ("dev.jsonl", "multi.jsonl")
             for line in (root / "eval" / name).read_text("utf-8").splitlines() if line.strip()]
    texts += [s for f in sorted(SEED_DIR.glob("*.txt")) for s in re.split("[。\n]", f.read_text("utf-8"))[:300]]
    rng = random.Random(7)
    known, rare = list(posseg.char_state_tab_P), [chr(c) for c in range(0x4E00, 0x9FA5, 97)]
    for _ in range(300):
        n = rng.randint(1, 12)
        texts += ["".join(rng.choices(known, k=n)), "".join(rng.choices(rare, k=n)) + rng.choice("市县区省 "),
                  "ab12 " + "".join(rng.choices(known + rare, k=n)) + "？"]
    fast = tagger()
    for text in texts:
        assert [(w.word, w.flag) for w in fast.cut(text)] == [(w.word, w.flag) for w in posseg.cut(text)], text


def test_a_colloquial_questions_scene_is_no_topic():
    """Words that set a colloquial question's scene or complain («家里», «不好走», «遭不住») and its
    dialect question words («啥子») are no topic the report must repeat (questions.toml)."""
    analyzer = QueryAnalyzer()
    (part,) = analyzer.analyze("家里老人做饭不方便，今年有啥子助餐服务？")
    assert "家里" not in part.topic and "方便" not in part.topic and "啥子" not in part.topic
    assert "老人" in part.topic and "助餐" in part.topic
    (part,) = analyzer.analyze("村里的路不好走，今年要修多少公里？")
    assert "好走" not in part.topic and "路" in part.topic and part.measure == "公里"


def test_an_english_question_is_searched_in_the_reports_words():
    """A report is searched in Chinese: an English question's search text carries the glossary's
    terms for its phrases («industrial investment» → 工业投资); a Chinese question's is its own."""
    analyzer = QueryAnalyzer()
    (part,) = analyzer.analyze("By how much did industrial investment grow in 2024?")
    assert "工业投资" in part.search_text and part.wants_number
    (part,) = analyzer.analyze("What share of spending went to people's livelihoods?")
    assert "民生支出" in part.search_text and part.measure == "%"
    assert analyzer.glossed("今年工业投资增长多少？") == []
