from __future__ import annotations

from django.db import models


class Client(models.Model):
    """A backend team calling the API with one or more keys (``ClientKey``)."""

    name = models.CharField(max_length=100, unique=True)
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


class Scope(models.TextChoices):
    """What a key may do; each API operation names the scopes that reach it."""

    SEND = "sms:send", "send SMS (POST /sendsms/)"
    VERIFY = "verify", "verifications (/verifications/...)"
    READ = "read", "read requests (GET /sendsms/...)"


class ClientKey(models.Model):
    """One of a client's API keys. Only a hash is stored; the prefix tells keys apart in lists and commands."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, unique=True, help_text="First characters of the key.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, help_text="Any of: sms:send, verify, read.")
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Written at most once a minute per key, after the response (clients.usage).
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["client_id", "created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"


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
