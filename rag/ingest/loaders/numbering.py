"""Numbers rendered the way Chinese documents number their headings (一、 （二） 3.)."""

from __future__ import annotations

_DIGITS = "零一二三四五六七八九"


def chinese(n: int) -> str:
    """12 → 十二, 20 → 二十, 105 → 一百零五: the counting form Word calls ``chineseCounting``."""
    if n < 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + (_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return _DIGITS[n // 10] + "十" + (_DIGITS[n % 10] if n % 10 else "")
    rest = n % 100
    tail = "" if rest == 0 else ("零" + _DIGITS[rest] if rest < 10 else ("一" if rest < 20 else "") + chinese(rest))
    return _DIGITS[n // 100] + "百" + tail


def format_number(n: int, fmt: str) -> str:
    """Word's ``w:numFmt`` values that reports use; anything else falls back to decimal."""
    if fmt in ("chineseCounting", "chineseCountingThousand"):
        return chinese(n)
    if fmt == "lowerLetter":
        return chr(ord("a") + (n - 1) % 26)
    if fmt == "upperLetter":
        return chr(ord("A") + (n - 1) % 26)
    if fmt == "lowerRoman" or fmt == "upperRoman":
        vals = [(10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]
        out, k = "", n
        for v, s in vals:
            while k >= v:
                out, k = out + s, k - v
        return out.upper() if fmt == "upperRoman" else out
    return str(n)
