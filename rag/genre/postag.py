"""Part-of-speech tags (report selection's place words): jieba's tagger, with a faster Viterbi.

jieba.posseg decodes each run of characters its dictionary does not know («万人助万企») with a
pure-Python Viterbi over 256 tag states. For every state it tries every previous state, about
100 × 100 pairs per character, so one such question took 1–3 ms, more than the rest of its
answer. The tag model's transitions are sparse (about 20 predecessors per state). This decoder
walks only those predecessors. Scores are summed as jieba sums them, and ties break as jieba's
``max`` over ``(score, state)`` pairs breaks them, so the tags are jieba's. Tests compare the two
on every evaluation question.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from rag.genre.text import _jieba

_MIN_FLOAT = -3.14e100  # jieba's score of a character a state never emits
_MIN_INF = float("-inf")  # ... and of a transition that never happens


def viterbi(obs: str, states: dict, start_p: dict, trans_p: dict, emit_p: dict,
            predecessors: dict) -> tuple[float, list]:
    """jieba.posseg.viterbi's result; ``predecessors[y]`` lists ``(y0, trans_p[y0][y])``."""
    all_states = trans_p.keys()
    prev: dict = {}
    first: dict = {}
    for y in states.get(obs[0], all_states):
        prev[y] = start_p[y] + emit_p[y].get(obs[0], _MIN_FLOAT)
        first[y] = ""
    back_path = [first]
    for t in range(1, len(obs)):
        char = obs[t]
        prev_states = [x for x in prev if trans_p[x]]
        expected: set = set()
        for x in prev_states:
            expected.update(trans_p[x])
        obs_states = set(states.get(char, all_states)) & expected or expected or all_states
        scores: dict = {}
        back: dict = {}
        greatest = None
        for y in obs_states:
            emit = emit_p[y].get(char, _MIN_FLOAT)
            best, best_state = _MIN_INF, None
            for y0, trans in predecessors.get(y, ()):
                score = prev.get(y0)
                if score is None:
                    continue
                score = score + trans + emit
                if score > best or (score == best and best_state is not None and y0 > best_state):
                    best, best_state = score, y0
            if best == _MIN_INF:  # no predecessor reaches y: every previous state ties at -inf
                if greatest is None:
                    greatest = max(prev_states)
                best_state = greatest
            scores[y], back[y] = best, best_state
        prev = scores
        back_path.append(back)
    prob, state = max((prev[y], y) for y in back_path[-1])
    route: list = [None] * len(obs)
    for i in range(len(obs) - 1, -1, -1):
        route[i] = state
        state = back_path[i][state]
    return prob, route


@lru_cache(maxsize=1)
def tagger() -> Any:
    """jieba's default part-of-speech tagger (its dictionary and tag table, shared) decoding
    unknown runs with ``viterbi``; ``tagger().cut(text)`` yields jieba's ``pair(word, flag)``."""
    import jieba.posseg as posseg

    _jieba()  # quiet, and the dictionary shared with the tokenizer
    predecessors: dict = {}
    for y0, following in posseg.trans_P.items():
        for y, trans in following.items():
            predecessors.setdefault(y, []).append((y0, trans))

    class Tagger(posseg.POSTokenizer):
        """jieba's default tagger's dictionary and tag table, read through (never a second copy)."""

        def __init__(self) -> None:
            pass

        tokenizer = property(lambda self: posseg.dt.tokenizer)
        word_tag_tab = property(lambda self: posseg.dt.word_tag_tab)

        def _POSTokenizer__cut(self, sentence: str) -> Iterator[Any]:  # jieba 0.42's __cut, this decoder
            _, pos_list = viterbi(sentence, posseg.char_state_tab_P, posseg.start_P, posseg.trans_P,
                                  posseg.emit_P, predecessors)
            begin, nexti = 0, 0
            for i, char in enumerate(sentence):
                pos = pos_list[i][0]
                if pos == "B":
                    begin = i
                elif pos == "E":
                    yield posseg.pair(sentence[begin:i + 1], pos_list[i][1])
                    nexti = i + 1
                elif pos == "S":
                    yield posseg.pair(char, pos_list[i][1])
                    nexti = i + 1
            if nexti < len(sentence):
                yield posseg.pair(sentence[nexti:], pos_list[nexti][1])

    return Tagger()
