"""China's provincial and prefecture-level divisions (``rag/data/gazetteer.tsv``): genre knowledge.

Reports name themselves in short forms («克州», «黔西南州», «我代表自治区人民政府») and name other
places in passing («支持焦作、新乡»). The gazetteer resolves a short form to the full division it
stands for and tells a province from a city, so the catalogue can read a report's own place from
its text. It helps only: a place it does not know (a made-up city of a synthetic corpus) is still
read from the text's own wording.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.core.errors import RagError
from rag.core.paths import DATA_DIR

#: endings stripped to give the name a report writes without them (成都 of 成都市)
_ENDINGS = ("特别行政区", "自治区", "自治州", "地区", "省", "市", "盟")


class GazetteerError(RagError, ValueError):
    """The gazetteer file is malformed; bilingual, names the line."""


@dataclass(frozen=True, slots=True)
class Division:
    name: str  # the full name: 克孜勒苏柯尔克孜自治州
    level: str  # 省 (provincial) | 市 (prefecture level)
    province: str  # the province it belongs to; "" for a province
    aliases: tuple[str, ...]  # other full names reports use: 克州, 克孜勒苏州

    @property
    def ending(self) -> str:
        """Its administrative ending (自治州 of 克孜勒苏柯尔克孜自治州)."""
        return next((e for e in _ENDINGS if self.name.endswith(e)), "")

    def stems(self) -> tuple[str, ...]:
        """The bare names it goes by in running text: 成都; 广西 (an alias without an ending);
        克孜勒苏 of the alias 克孜勒苏州."""
        out = []
        for name in (self.name, *self.aliases):
            end = next((e for e in (*_ENDINGS, "州") if name.endswith(e)), "")
            stem = name[: len(name) - len(end)]
            if len(stem) >= 2 and not stem.endswith("族"):
                out.append(stem)
        return tuple(dict.fromkeys(out))

    def surfaces(self) -> tuple[str, ...]:
        """Every way running text writes it, none inside another: its stems, and the full names
        and aliases whose stem is too short to count alone (克州)."""
        stems = self.stems()
        return stems + tuple(n for n in (self.name, *self.aliases) if not any(s in n for s in stems))


class Gazetteer:
    """Full names, aliases and stems of every division, looked up by surface form."""

    def __init__(self, divisions: Iterable[Division]) -> None:
        self.divisions = tuple(divisions)
        self._full: dict[str, Division] = {}
        for d in self.divisions:
            for name in (d.name, *d.aliases):
                if any(name.endswith(e) for e in (*_ENDINGS, "州")):
                    self._full.setdefault(name, d)
        self._longest_first = sorted(self._full, key=len, reverse=True)
        self._stems = frozenset(s for d in self.divisions for s in d.stems())

    @classmethod
    def load(cls, path: Path = DATA_DIR / "gazetteer.tsv") -> Gazetteer:
        rows = []
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            cells = line.split("\t")
            if len(cells) != 4 or cells[1] not in ("省", "市"):
                raise GazetteerError(f"{path} 第 {n} 行应为 名称、级别（省/市）、所属省份、别名 四列"
                                     f" / {path} line {n}: expected name, level (省/市), province, aliases")
            rows.append(Division(cells[0], cells[1], cells[2], tuple(a for a in cells[3].split(",") if a)))
        return cls(rows)

    def get(self, name: str) -> Division | None:
        """The division a full name or written alias stands for (河南省, 克州, 黔西南州)."""
        return self._full.get(name)

    def mentions(self, text: str) -> dict[str, int]:
        """How often ``text`` names each division (full name → count), a longer name first so 鞍山
        inside 马鞍山 counts for 马鞍山 only; a stem two divisions share (吉林) counts for both."""
        by_surface: dict[str, int] = {}
        for w in sorted({w for d in self.divisions for w in d.surfaces()}, key=len, reverse=True):
            n = text.count(w)
            if n:
                by_surface[w] = n
                text = text.replace(w, "\0")
        return {d.name: sum(by_surface.get(w, 0) for w in d.surfaces()) for d in self.divisions}

    def lookup(self, name: str) -> Division | None:
        """``get``, or the one division whose stem ``name`` is (广西 → 广西壮族自治区); None when
        no division or several have it (吉林: a province and a city)."""
        if name in self._full:
            return self._full[name]
        hits = [d for d in self.divisions if name in d.stems()]
        return hits[0] if len(hits) == 1 else None

    def ending_in(self, text: str) -> Division | None:
        """The division whose full name or alias ``text`` ends with, longest first: a delivery line
        run together with what precedes it («政府工作报告厦门市») still names 厦门市."""
        return next((self._full[n] for n in self._longest_first if text.endswith(n)), None)

    def first_in(self, text: str) -> Division | None:
        """The division a title names (its full name or alias), the earliest and then longest."""
        hits = [(text.find(n), -len(n), n) for n in self._longest_first if n in text]
        return self._full[min(hits)[2]] if hits else None

    def known(self, word: str) -> bool:
        """Whether ``word`` is a division's name, alias or stem (鹤壁 is a city, not a province)."""
        return word in self._full or word in self._stems


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The shipped gazetteer, read once."""
    return Gazetteer.load()
