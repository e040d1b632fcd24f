"""Recorded vendor answers under ``fixtures/<vendor>/``: ``{"http_status": N, "body": ...}`` or ``"body_text"``."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def load(vendor: str, name: str) -> tuple[int, bytes]:
    """The HTTP status and the raw body bytes exactly as the vendor would send them."""
    payload = json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))
    if "body_text" in payload:
        return payload["http_status"], payload["body_text"].encode()
    return payload["http_status"], json.dumps(payload["body"], ensure_ascii=False).encode()


def error_codes(vendor: str) -> list[int]:
    """Every vendor error code with a recorded fixture."""
    return sorted(int(path.stem.removeprefix("error_")) for path in (FIXTURES / vendor).glob("error_*.json"))
