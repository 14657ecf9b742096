"""Pydantic models at the HTTP edge; the answer shape is the contract other tools rely on."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class AskRequest(BaseModel):
    question: str = Field(..., description="问题 / the question", examples=["今年GDP要涨多少？"])
    top_k: int | None = Field(None, ge=1, le=20, description="检索条数 / units retrieved")
    history: list[Turn] = Field(default_factory=list, description="对话历史，最早的在前 / earlier turns, oldest first")


class CitationOut(BaseModel):
    n: int
    doc: str
    section_id: str
    section_path: str
    quote: str
    start: int
    end: int
    score: float


class AnswerOut(BaseModel):
    question: str
    answer: str
    found: bool
    citations: list[CitationOut]
    timings_ms: dict[str, float]
    composer: str = "extractive"
    fallback_reason: str | None = None
    related_sections: list[str] = Field(default_factory=list)


class Health(BaseModel):
    status: str
    model: str
    manifest: dict
