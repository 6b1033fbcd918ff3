"""Numbers that may be missing: one reading (None, NaN, NaT, text -> None) and one way to print them."""

from __future__ import annotations

import math
from typing import Any

MISSING = "–"


def number(value: Any) -> float | None:
    """A float, or None for None, NaN, NaT and anything that is not a number."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(result) else result


def fmt_number(value: Any, digits: int = 2, suffix: str = "", *, signed: bool = False) -> str:
    """``value`` with ``digits`` decimals (``+`` sign when ``signed``); "–" when missing, "∞" when infinite."""
    x = number(value)
    if x is None:
        return MISSING
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:+.{digits}f}{suffix}" if signed else f"{x:.{digits}f}{suffix}"
