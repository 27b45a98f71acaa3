"""Vendor payload fixtures: repaired copies of the documented examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def load(vendor: str, name: str) -> Any:
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text())


def names(vendor: str) -> list[str]:
    return sorted(p.stem for p in (FIXTURES / vendor).glob("*.json"))
