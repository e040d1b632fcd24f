"""Model fields for secrets at rest. ``manage.py reseal`` finds every sealed column by these classes."""

from __future__ import annotations

from typing import Any

from django.db import models

from common.sealing import seal, unseal


class SealedColumn(models.TextField):  # type: ignore[type-arg]
    """A column whose text is a seal (``common.sealing``), written and opened by the services that use it.

    Declaring a column with this class is what puts it under key rotation (``common.resealing``).
    """


class SealedTextField(SealedColumn):
    """A sealed column the model sees open: plain text in Python, only its seal in the database.

    A seal differs at every save (random nonce), so the column cannot be filtered on. Empty stays empty.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return str(unseal(value)) if value else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return seal(value) if value else value
