"""The OpenAPI schema generates without a warning, validates, and documents the token scheme."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.core.management import call_command


def test_schema_validates_without_warnings_and_declares_the_client_token(tmp_path: Path) -> None:
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    schema = yaml.safe_load(out.read_text())
    assert schema["components"]["securitySchemes"]["ClientToken"]["name"] == "Authorization"
    assert set(schema["paths"]) == {
        "/sendsms/",
        "/sendsms/{request_id}/",
        "/verifications/",
        "/verifications/{verification_id}/",
        "/verifications/{verification_id}/cancel/",
        "/verifications/{verification_id}/check/",
        "/verifications/check/",
    }
