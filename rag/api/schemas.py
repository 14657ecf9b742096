"""Pydantic models at the HTTP edge; the answer shape is the contract other tools rely on."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, StringConstraints, TypeAdapter

from rag.core.types import Citation, Refusal, Report
from rag.core.types import SectionRef as RelatedSection  # «SectionRef» below is a heading

#: Control characters (newline and tab aside) and lone surrogates (JSON's "\ud800", which no
#: UTF-8 response could carry back)
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
#: Earlier turns a question may lean on, in the API's ``history`` and in the page's conversation.
MAX_HISTORY = 20


def _clean(value: object) -> object:
    """Control characters (newline and tab aside) never reach the pipeline or a log; limits count what is left."""
    return CONTROL_CHARS.sub("", value).strip() if isinstance(value, str) else value


#: 1–1,000 characters after control characters and surrounding whitespace are removed.
MAX_QUESTION_CHARS = 1000  # the API's and the page's limit (the page counts and says when it cuts)
QuestionText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_QUESTION_CHARS), BeforeValidator(_clean)]
_QUESTION = TypeAdapter(QuestionText)


def clean_question(value: object) -> str:
    """The question as ``/api/ask`` accepts it; ``ValueError`` (pydantic's) when it would get 422."""
    return _QUESTION.validate_python(value, strict=True)


#: One earlier turn: at most 2,000 characters, cleaned the same way.
TurnText = Annotated[str, StringConstraints(max_length=2000), BeforeValidator(_clean)]
#: A search query: 1–500 characters, cleaned the same way.
SearchText = Annotated[str, StringConstraints(min_length=1, max_length=500), BeforeValidator(_clean)]


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: TurnText


class AskRequest(BaseModel):
    question: QuestionText = Field(..., description="问题 / the question (1–1000 字)",
                                   examples=["今年经济增长的预期目标是多少？"])
    top_k: int | None = Field(None, ge=1, le=20, description="检索条数 / units retrieved")
    history: list[Turn] = Field(
        default_factory=list, max_length=MAX_HISTORY,
        description="对话历史，最早的在前，最多 20 轮 / earlier turns, oldest first, at most 20")
    documents: list[Annotated[str, StringConstraints(max_length=160)]] | None = Field(
        None, max_length=50, description="只从这些报告回答 / answer only from these report ids")
    region: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="只从该地区的报告回答 / only reports of this place (江城 or 江城市)")
    year: int | None = Field(None, ge=1949, le=2100,
                             description="只从该年度的报告回答 / only reports of this plan year")

    def user_history(self) -> list[str]:
        """Follow-ups are resolved from earlier user questions only (``Pipeline.ask(history=...)``)."""
        return [t.content for t in self.history if t.role == "user"]


class ScopeReport(BaseModel):
    doc: str = Field(description="报告编号 / report id")
    label: str = Field(description="报告名称 / the report's name")
    region: str = Field(description="地区 / place")
    year: int | None = Field(None, description="计划年度 / plan year")


class AnswerOut(BaseModel):
    question: str
    answer: str
    found: bool
    citations: list[Citation]  # the pipeline's own dataclass: one definition of the contract
    timings_ms: dict[str, float]
    composer: str = "extractive"
    fallback_reason: str | None = None
    related_sections: list[str] = Field(default_factory=list)
    related_refs: list[RelatedSection] = Field(default_factory=list)
    scope_reports: list[ScopeReport] = Field(
        default_factory=list,
        description="地区或年份无报告时可改问的报告 / for a place or year no report covers: the reports there are")
    refusal: Refusal | None = Field(
        None, description="报告未涉及的话题（未找到时；或部分回答中未能回答的部分），供各端按语言措辞 / "
                          "what the report does not cover, as data to word in any language: the refused "
                          "topics, or on a partial answer those of the parts left unanswered")


class SkippedOut(BaseModel):
    source: str = Field(description="语料目录中的文件 / the file, relative to the corpus folder")
    reason: str = Field(description="未索引的原因（中英文） / why it was not indexed (bilingual)")


class Health(BaseModel):
    status: str
    model: str
    store: dict  # the engine in use: {"store": "faiss" | "milvus", ...where it is}
    manifest: dict
    skipped: list[SkippedOut] = Field(
        default_factory=list, description="未能索引的文件及原因 / corpus files that could not be indexed, and why")
    build: str | None = Field(None, description="正在使用的索引版本目录 / the index build folder being served")
    published_build: str | None = Field(None, description="index/CURRENT 指向的版本 / the build index/CURRENT names")
    stale: bool = Field(False, description="已发布更新的索引但尚未切换 / a newer build is published and not served yet")
    reload_error: str | None = Field(None,
                                     description="新版本未能加载的原因 / why the published build could not be loaded")


#: a target's fate in the same place's next report
PromiseStatus = Literal["met", "missed", "not_reported"]


class PromiseOut(BaseModel):
    """Whether a target was kept, from the same place's next-year report."""

    status: PromiseStatus = Field(description="已完成 / 未完成 / 未报告")
    label: str = Field(description="兑现情况 / the status in Chinese")
    outcome: str | None = Field(None, description="次年报告中的成绩编号 / the outcome record's id")
    outcome_doc: str | None = None
    outcome_figure: str = ""
    rule: str = Field("", description="判定依据，如「目标5.5%左右，实际5.6%：完成」 / the status with its rule")


class CommitmentRecord(BaseModel):
    """One target or achievement, located by ``doc.text[start:end] == clause``."""

    id: str
    kind: Literal["target", "achievement"]
    figure: str = Field(description="数值及限定，如 6万人以上 / the figure with its qualifier")
    value: str | None
    unit: str | None
    horizon: str = Field(description="2023 / 过去五年 …")
    doc: str
    section_id: str
    section_path: str
    start: int
    end: int
    clause: str


class CommitmentOut(CommitmentRecord):
    metric: str
    qualifier: str | None
    main_target: bool
    paired_with: str | None
    paired_value: str | None
    paired_unit: str | None
    paired: CommitmentRecord | None = Field(
        None, description="对照记录：目标对应的过去成绩，或成绩对应的今年目标 / the paired record")
    promise: PromiseOut | None = Field(
        None, description="兑现情况：与同一地区次年报告的回顾对照 / kept or not, per the next year's report")

class SearchHit(BaseModel):
    rank: int
    score: float
    dense: float | None = None
    bm25: float | None = None
    unit_id: int
    doc: str
    section_id: str
    section_path: str
    text: str
    start: int
    end: int


class SearchOut(BaseModel):
    query: str
    retriever: str
    hits: list[SearchHit]


class SectionRef(BaseModel):
    id: str
    title: str
    level: int
    parent: str | None = None
    part: str = Field("", description="所属部分：review 回顾 / plan 计划 / government 政府自身建设 / "
                                      "glossary 名词解释 / appendix 附件，空为未标明")


#: How a report is shown to people: the catalogue's name, and where it was published.
_NAME = Field("", description="报告名称（目录给出），如 成都市2025年政府工作报告 / "
                               "the report's name from the catalogue")
_URL = Field(None, description="报告的发布网址（front matter 的 source:） / where the report was published, when known")


class DocumentOut(BaseModel):
    id: str = Field(description="文档编号：语料中的相对路径（不含扩展名） / "
                                "the report id: its path in the corpus, without suffix")
    name: str = _NAME
    source_url: str | None = _URL
    title: str
    source: str
    chars: int
    format: str = Field("txt", description="原始格式 / published format: txt, md, docx, pdf, html")
    original_name: str = Field("", description="原始文件名 / the file name as added")
    pages: int | None = Field(None, description="PDF 页数 / PDF page count (None for other formats)")
    report: Report = Field(description="报告目录信息：地区、级别、年份、标题、报告日期、来源网址 / the catalogue "
                                       "entry: place, level, plan year, title, delivery date, source URL "
                                       "(front matter `source:`)")
    sections: list[SectionRef] = Field(description="章节目录，按原文顺序 / the heading tree in reading order")


class DocumentText(BaseModel):
    """A report's whole extracted text: every citation's ``start``/``end`` index into ``text``."""

    id: str
    name: str = _NAME
    source_url: str | None = _URL
    title: str
    source: str
    format: str
    original_name: str
    text: str
    page_starts: list[int] = Field(default_factory=list, description="每页在 text 中的起始位置（仅 PDF） / "
                                                                     "offset in text where each PDF page starts")


class SectionOut(BaseModel):
    doc: str
    id: str
    title: str
    path: list[str]
    level: int
    parent: str | None
    start: int
    heading_end: int
    end: int
    text: str = Field(description="整节原文（含下级章节） / the whole section, children included")
    children: list[SectionRef]
