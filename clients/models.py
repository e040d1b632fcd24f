from __future__ import annotations

from django.db import models


class Client(models.Model):
    """A backend team calling the API. Only a hash of its key is stored."""

    name = models.CharField(max_length=100, unique=True)
    key_prefix = models.CharField(max_length=8, help_text="First characters of the key, to tell keys apart.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    # DRF treats whatever authentication returns as request.user.
    @property
    def is_authenticated(self) -> bool:
        return True


class IdempotencyRecord(models.Model):
    """The first successful answer to a client's ``Idempotency-Key``, replayed for later retries of it."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=255)
    # SHA-256 of the method, path and body: the same key with another request is refused, not replayed.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="idempotency_unique_client_key")]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.key}"
