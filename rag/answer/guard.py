"""Inputs that are not questions about a report: a greeting gets a greeting, junk (markup, SQL,
code, emoji, keyboard mash, prompt injection, requests for something else) gets one refusal and
never a figure. Decided before retrieval, so nothing retrieved can dress junk up as an answer.

The vocabulary lives in ``rag/data/conversation.toml``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from rag.core.types import Answer
from rag.genre.lexicon import Lexicon

_WORD_CHAR = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_TRAILING = re.compile(r"[\s，。！？!?,.~～、…:：;；'\"“”()（）\-—]+")


def _is_english(text: str) -> bool:
    return sum(c.isascii() and c.isalpha() for c in text) > len(_CJK.findall(text))


@dataclass(frozen=True)
class Verdict:
    """What an input is: ``question`` (answer it), ``greeting``, ``thanks`` or ``junk`` (with why)."""

    kind: str
    reason: str = ""


class ConversationGuard:
    """Sorts an input before retrieval; ``run`` answers greetings and junk, ``None`` lets a question through."""

    def __init__(self, examples: Sequence[str] = (), lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or Lexicon.default()
        self.rules = self.lexicon.table("conversation")
        self.examples = list(examples)[:3]

    @cached_property
    def _patterns(self) -> dict[str, re.Pattern[str]]:
        """Each kind's patterns as one alternation: it matches where any of them does (they use
        no group references), in one search instead of one per pattern."""
        junk = self.rules["junk"]
        return {kind: re.compile("|".join(f"(?:{p})" for p in junk[kind]) or "(?!)", re.I | re.M)
                for kind in ("markup", "code", "injection", "off_topic")}

    @cached_property
    def _longest_first(self) -> dict[str, list[str]]:
        return {kind: sorted(self.rules[kind]["words"], key=len, reverse=True) for kind in ("greeting", "thanks")}

    def _bare(self, text: str, kind: str) -> bool:
        """The input is one of the ``kind`` words (greetings, thanks) with at most a few other characters."""
        low = _TRAILING.sub(" ", text.lower()).strip()
        extra = self.rules["greeting"]["max_extra_chars"]
        for w in self._longest_first[kind]:
            if low.startswith(w) or low.endswith(w):
                rest = low.replace(w, "", 1).strip()
                if w.isascii() and rest[:1].isalpha() and low.startswith(w + rest[:1]):
                    continue  # "hiring" is not "hi"
                if len(rest) <= extra and not any(c.isdigit() for c in rest):
                    return True
        return False

    def classify(self, text: str) -> Verdict:
        text = unicodedata.normalize("NFKC", text).strip()
        junk = self.rules["junk"]
        for kind in ("markup", "code"):
            if self._patterns[kind].search(text):
                return Verdict("junk", kind)
        if self._patterns["injection"].search(text):
            return Verdict("junk", "injection")
        words = _WORD_CHAR.findall(text)
        if len(words) < junk["min_word_chars"]:
            return Verdict("junk", "emoji" if any(unicodedata.category(c) == "So" for c in text) else "empty")
        if self._bare(text, "greeting"):
            return Verdict("greeting")
        if self._bare(text, "thanks"):
            return Verdict("thanks")
        if self._patterns["off_topic"].search(text):
            return Verdict("junk", "off_topic")
        if self._mash(text):
            return Verdict("junk", "mash")
        return Verdict("question")

    def _mash(self, text: str) -> bool:
        """Keyboard mash: Latin words without vowels, or one character repeated, and no CJK word."""
        junk = self.rules["junk"]
        if re.search(rf"(.)\1{{{junk['mash_repeat'] - 1},}}", re.sub(r"\s", "", text)) and \
                len(set(_WORD_CHAR.findall(text))) <= 3:
            return True
        if _CJK.search(text):
            return False
        latin = _LATIN_WORD.findall(text)
        if not latin:
            return True  # digits and symbols only: no question in words
        n = junk["mash_consonants"]
        odd = [w for w in latin if len(w) >= 4 and (re.search(rf"[^aeiouy\W\d]{{{n},}}", w.lower())
                                                    or not re.search(r"[aeiouy]", w.lower()))]
        return len(odd) * 2 >= len(latin)

    def _examples(self, english: bool) -> str:
        if not self.examples:
            return ""
        sep = " " if english else ""
        return sep + ("; ".join(self.examples) if english else "；".join(f"「{e}」" for e in self.examples))

    def run(self, question: str, *, english: bool | None = None) -> Answer | None:
        """A finished answer for greetings, thanks and junk (``found=False``); ``None`` for a question.
        The reply's language follows the question's letters unless ``english`` says (a page's
        interface language does)."""
        verdict = self.classify(question)
        if verdict.kind == "question":
            return None
        english = _is_english(question) if english is None else english
        lang = "reply_en" if english else "reply_zh"
        if verdict.kind == "thanks":
            text = self.rules["thanks"][lang]
        else:
            section = "greeting" if verdict.kind == "greeting" else "junk"
            text = self.rules[section][lang] + self._examples(english)
        return Answer(question=question, answer=text, found=False, composer="conversation")
