"""Cheap reads of Enum members on Python 3.11.

On 3.11 ``EnumType`` defines ``__getattr__``, so every ``Side.BUY`` read in a
function body goes through a Python-level attribute hook, several times the
cost of a plain class attribute (3.12 dropped the hook). The modules on the
per-event and per-order paths read members through ``members(Side)``: a plain
class holding the very same member objects, so ``is`` and ``==`` work as
before. It is typed as the enum for the checker; use it only to read members.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar, cast

E = TypeVar("E", bound=Enum)


def members(enum: type[E]) -> type[E]:
    """A plain class whose attributes are ``enum``'s members (read-only use)."""
    return cast("type[E]", type(f"{enum.__name__}Members", (), {m.name: m for m in enum}))
