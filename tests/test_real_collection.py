"""The real collection beside the checkout (``../shared/corpora/gov-reports``, 1,467 reports laid out
as ``<level>/<place>/<year>.md``) loads as it is: every report with its own id, no markup in any
text, every plain line of every report kept, and the part headings a report has found as parts.

The part headings are checked by ``tests/part_headings.py``, which reads the raw files with a few
simple patterns of its own, not with the parser under test. Skipped when ``../shared`` is absent.
"""

from __future__ import annotations

import re

import pytest
from part_headings import check, expected_parts, raw_lines

#: what a line of the raw file must not contain for it to be expected verbatim in the text
_MARKUP = re.compile(r"[*#|<>&\[\]]|^\s*[-+]\s|^---")


@pytest.fixture(scope="module")
def collection(gov_reports):
    from rag.ingest.corpus import CorpusLoader

    loader = CorpusLoader(gov_reports)
    got = loader.read()
    raws = {d.id: (gov_reports / d.source).read_text("utf-8") for d in got.documents}
    return got, raws


def test_every_report_loads_with_an_id_of_its_own(collection, gov_reports):
    got, _ = collection
    files = [p for p in gov_reports.rglob("*.md") if p.name != "README.md"]
    assert len(got.documents) == len(files) == 1467
    assert [s.source for s in got.skipped] == ["README.md"]  # named, with its reason
    ids = [d.id for d in got.documents]
    assert len(set(ids)) == len(ids)
    by_name = {}
    for d in got.documents:
        by_name.setdefault(d.id.rsplit("/", 1)[-1], []).append(d.id)
    assert len(by_name["2023"]) > 100  # every place's 2023 report, not one of them
    assert all(d.id == d.source.removesuffix(".md") for d in got.documents)


def test_no_markup_reaches_the_text_and_every_plain_line_is_kept(collection):
    got, raws = collection
    marked, lost = [], []
    for d in got.documents:
        if "**" in d.text or "<!--" in d.text or re.search(r"^\s*(?:#{1,6}\s|\|)", d.text, re.M):
            marked.append(d.id)
        body = raws[d.id].split("\n---\n", 1)[-1]
        lost += [(d.id, line[:20]) for line in body.splitlines() if line.strip() and not _MARKUP.search(line)
                 and line.strip() not in d.text]
    assert not marked, marked[:5]
    assert not lost, lost[:5]


def test_part_headings_are_found_in_at_least_99_percent_of_the_reports_that_have_them(collection):
    got, raws = collection
    having, misses = 0, {}
    for d in got.documents:
        lines = raw_lines(raws[d.id])
        if not expected_parts(lines).parts:
            continue
        having += 1
        missed = check(d, lines)
        if missed:
            misses[d.id] = missed[:2]
    assert having > 1300  # nine reports in ten have 一、/二、 or 第X部分 parts
    assert (having - len(misses)) / having >= 0.99, (len(misses), list(misses.items())[:10])


def test_parts_say_which_is_the_review_and_which_the_plan(collection):
    from rag.ingest.corpus import part_heads, parts_plan_year

    got, _ = collection
    told = [d for d in got.documents if {"review", "plan"} <= {s.part for s in part_heads(d)}]
    assert len(told) / len(got.documents) >= 0.9
    dated = [(d, parts_plan_year(d)) for d in got.documents]
    right = [d for d, y in dated if y is not None and y == int(d.id.rsplit("/", 1)[-1][:4])]
    assert len(right) / len(got.documents) >= 0.95  # the rest name no year in their part headings
