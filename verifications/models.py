"""Verifications: one code sent to one phone for one client, until it is approved, expires or is used up."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import models
from django.utils import timezone

from common.fields import SealedColumn
from common.phones import E164_PATTERN


class Verification(models.Model):
    """The code itself is never stored: only its HMAC (to check it) and a sealed copy (to resend it)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        EXPIRED = "expired", "Expired"
        MAX_ATTEMPTS_REACHED = "max_attempts_reached", "Max attempts reached"
        CANCELED = "canceled", "Canceled"

    # Random ids: a client cannot walk other verifications by counting.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="verifications")
    phone = models.CharField(max_length=16, help_text="E.164")
    template = models.ForeignKey("messaging.Templates", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)
    # HMAC-SHA256 of "<id>:<code>": a code checks only against its own verification.
    code_hash = models.CharField(max_length=64, editable=False)
    # The code sealed with common.sealing, for resends; emptied once the verification is final.
    code_sealed = SealedColumn(blank=True, editable=False)
    is_test_number = models.BooleanField(default=False, help_text="A test number: nothing is sent.")
    send_count = models.PositiveSmallIntegerField(default=0)
    failed_checks = models.PositiveSmallIntegerField(default=0)
    rescues = models.PositiveSmallIntegerField(
        default=0, help_text="Sends the gateway made on its own because the code did not arrive (0-2)."
    )
    last_sent_at = models.DateTimeField(null=True, blank=True)
    send_request = models.ForeignKey(
        "messaging.VerifyRequests", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Two concurrent starts for the same phone cannot both create a code.
            models.UniqueConstraint(
                fields=["client", "phone", "template"],
                condition=models.Q(status="pending"),
                name="uniq_pending_verification",
            ),
            models.CheckConstraint(condition=models.Q(phone__regex=E164_PATTERN), name="verification_phone_e164"),
        ]
        indexes = [
            models.Index(fields=["client", "phone", "template", "-created_at"], name="verif_lookup"),
            models.Index(fields=["expires_at"], name="verif_expires"),
            models.Index(fields=["status", "created_at"], name="verif_status_created"),
        ]

    def __str__(self) -> str:
        return f"verification {self.id} ({self.status})"

    def current_status(self, now: datetime | None = None) -> str:
        """The status a client sees: a pending code past its expiry is expired even before anyone checks it."""
        if self.status == self.Status.PENDING and (now or timezone.now()) >= self.expires_at:
            return self.Status.EXPIRED
        return self.status


class TestNumber(models.Model):
    """A phone number that never reaches a provider and approves with a fixed code (QA, app-store review)."""

    __test__ = False  # not a pytest test class

    phone = models.CharField(max_length=16, unique=True, help_text="E.164, e.g. +989120000000.")
    code = models.CharField(max_length=10, help_text="The fixed code, 4-10 digits.")
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["phone"]
        constraints = [
            models.CheckConstraint(condition=models.Q(phone__regex=E164_PATTERN), name="testnumber_phone_e164")
        ]

    def __str__(self) -> str:
        return self.phone
