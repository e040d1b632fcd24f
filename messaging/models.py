"""Provider accounts, templates, and the record of every send request and attempt."""

from __future__ import annotations

from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from common.fields import SealedColumn, SealedTextField
from common.phones import E164_PATTERN
from providers.registry import KIND_CHOICES


class Engine(models.Model):
    """A provider account. Lower priority is tried first."""

    name = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=32, choices=KIND_CHOICES)
    api_url = models.URLField(max_length=255)
    provider_token = SealedTextField(
        validators=[MaxLengthValidator(255)], help_text="API key, sealed at rest. Write-only: never shown after saving."
    )
    priority = models.PositiveIntegerField(default=100)
    enabled = models.BooleanField(default=True)
    connect_timeout = models.FloatField(default=3.0, help_text="Seconds to open a connection.")
    read_timeout = models.FloatField(default=5.0, help_text="Seconds to wait for the answer.")
    max_in_flight = models.PositiveIntegerField(
        default=100, help_text="At most this many calls to this provider at once from one worker."
    )
    low_credit_threshold = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Warn (once per crossing) when the credit falls below this; empty: never.",
    )
    # What the provider says about the account (messaging.services.accounts); never set by an operator.
    credit = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True, editable=False)
    credit_read_at = models.DateTimeField(null=True, blank=True, editable=False)
    credit_low = models.BooleanField(default=False, editable=False, help_text="Below the low-credit threshold.")
    out_of_credit = models.BooleanField(
        default=False, editable=False, help_text="Skipped without a call until a credit check or a send finds credit."
    )
    config_error_code = models.CharField(
        max_length=32, blank=True, editable=False, help_text="The provider refused the key or a template."
    )
    config_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # What an operator sets (admin form, providers file), besides the name.
    SETTINGS_FIELDS = (
        "kind",
        "api_url",
        "provider_token",
        "priority",
        "enabled",
        "connect_timeout",
        "read_timeout",
        "max_in_flight",
        "low_credit_threshold",
    )

    class Meta:
        ordering = ["priority", "id"]
        indexes = [models.Index(fields=["enabled", "priority"])]
        permissions = [("view_provider_health", "Can view the provider-health page")]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Templates(models.Model):
    """A message template as clients know it, with the ordered token names it needs."""

    class Routing(models.TextChoices):
        """How the first engine of a send is chosen (messaging.services.routing); failover follows."""

        PRIORITY = "priority", "Priority: engines in their priority order"
        WEIGHTED = "weighted", "Weighted: first engine drawn by the mappings' weights"
        ADAPTIVE = "adaptive", "Adaptive: the engine that delivers best to the number's operator"

    template_id = models.PositiveIntegerField(unique=True, help_text="The id clients send.")
    name = models.CharField(max_length=100)
    token_names = models.JSONField(default=list, help_text='Ordered token names, e.g. ["code"].')
    code_length = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Length of generated verification codes (4-10); empty: the default."
    )
    routing = models.CharField(max_length=8, choices=Routing.choices, default=Routing.PRIORITY)
    rescue = models.BooleanField(
        default=False,
        help_text="Verification codes: send the code once more through the next-best engine when the first SMS "
        "is reported undelivered or not delivered in time.",
    )
    voice_rescue = models.BooleanField(
        default=False,
        help_text="Verification codes: when the rescue SMS does not arrive either, read the code out in a phone "
        "call (engines that can call, e.g. Kavenegar), falling back to SMS where a call is refused.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["template_id"]
        verbose_name = "template"
        verbose_name_plural = "templates"

    def __str__(self) -> str:
        return f"{self.template_id}: {self.name}"


class TemplatesEngine(models.Model):
    """How one template is named inside one provider, and what that provider calls each token."""

    template = models.ForeignKey(Templates, on_delete=models.CASCADE, related_name="mappings")
    engine = models.ForeignKey(Engine, on_delete=models.CASCADE, related_name="mappings")
    template_code = models.CharField(max_length=100, help_text="The template's id or name at the provider.")
    token_keys = models.JSONField(
        default=dict, help_text='Token name -> provider parameter, e.g. {"code": "CODE"} or {"code": "token"}.'
    )
    weight = models.PositiveSmallIntegerField(
        default=0,
        help_text="Weighted routing: this engine's share of first tries, relative to the template's other weights.",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["engine", "template"], name="uniq_engine_template")]
        verbose_name = "template mapping"

    def __str__(self) -> str:
        return f"{self.template_id} @ {self.engine_id}: {self.template_code}"


class VerifyRequests(models.Model):
    """One send request from a client, from acceptance to its final outcome."""

    class Flag(models.TextChoices):
        PENDING = "PENDING", "Pending"  # waiting for next_attempt_at
        SENDING = "SENDING", "Sending"  # claimed by a worker until lease_expires_at
        DONE = "DONE", "Done"
        FAILED = "FAILED", "Failed"

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        CALL = "call", "Voice call"

    class Delivery(models.TextChoices):
        """What the provider reports after DONE (providers.reporting.DeliveryState); blank before DONE."""

        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Undelivered"
        BLOCKED = "blocked", "Blocked"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Unknown"

    request_sender = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="requests", db_index=False
    )
    phone = models.CharField(max_length=16, help_text="E.164")
    operator = models.CharField(
        max_length=32,
        blank=True,
        help_text="The mobile operator the number was allocated to (phonenumbers' carrier data; a ported number "
        "keeps its first operator).",
    )
    template = models.ForeignKey(
        Templates, on_delete=models.PROTECT, to_field="template_id", db_column="template_id", related_name="+"
    )
    # Sealed (encrypted) JSON object of token name -> value; see common.sealing.
    token_value = SealedColumn()
    flag = models.CharField(max_length=8, choices=Flag.choices, default=Flag.PENDING)
    tries = models.PositiveSmallIntegerField(default=0, help_text="Provider calls made.")
    rounds = models.PositiveSmallIntegerField(default=0, help_text="Passes over all engines.")
    system = models.ForeignKey(
        Engine, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="Delivered by."
    )
    provider_message_id = models.CharField(max_length=64, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    send_before = models.DateTimeField(
        null=True, blank=True, help_text="Never send after this (a verification code that expired)."
    )
    trace_id = models.CharField(
        max_length=64, blank=True, help_text="The X-Request-ID of the API call that made it: its log lines carry it."
    )
    channel = models.CharField(
        max_length=4,
        choices=Channel.choices,
        default=Channel.SMS,
        help_text="Asked for; engines that cannot call send SMS.",
    )
    rescue_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The send of the same verification code that did not arrive; its engine is tried last.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(
        default=timezone.now, help_text="Accepted or re-queued; its age limit counts from here."
    )
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The delivery report, polled from the provider after DONE (messaging.services.reports).
    delivery_state = models.CharField(max_length=12, choices=Delivery.choices, blank=True)
    delivery_code = models.CharField(max_length=16, blank=True, help_text="The provider's own status code.")
    delivery_text = models.CharField(max_length=100, blank=True, help_text="The provider's meaning of it.")
    delivered_at = models.DateTimeField(null=True, blank=True)
    report_next_at = models.DateTimeField(
        null=True, blank=True, help_text="When the provider is next asked; empty once the state is final."
    )
    report_polls = models.PositiveSmallIntegerField(default=0, help_text="Status calls that asked about it.")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "send request"
        # The admin masks every phone number; staff who must see whole numbers (support) get this.
        permissions = [("view_full_phone", "Can see whole phone numbers in the admin")]
        indexes = [
            # The sweeper: due waiting requests, and expired leases.
            models.Index(fields=["flag", "next_attempt_at"], name="vr_flag_due"),
            models.Index(fields=["flag", "lease_expires_at"], name="vr_flag_lease"),
            # The client's list, newest first, optionally by phone or flag.
            models.Index(fields=["request_sender", "-created_at"], name="vr_sender_created"),
            models.Index(fields=["request_sender", "phone"], name="vr_sender_phone"),
            # Admin search and date filters.
            models.Index(fields=["phone"], name="vr_phone"),
            models.Index(fields=["created_at"], name="vr_created"),
            # The report poller's claim: only requests still waiting for a report are in it.
            models.Index(fields=["report_next_at"], name="vr_report_due", condition=Q(report_next_at__isnull=False)),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(phone__regex=E164_PATTERN), name="vr_phone_e164")]

    def __str__(self) -> str:
        return f"request {self.pk} ({self.flag})"

    @property
    def is_final(self) -> bool:
        return self.flag in (self.Flag.DONE, self.Flag.FAILED)


class Attempt(models.Model):
    """One try of one request at one engine."""

    class Outcome(models.TextChoices):
        IN_FLIGHT = "in_flight", "In flight"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed, tried next"
        TIMEOUT = "timeout", "Timed out (provider may have accepted)"
        REJECTED = "rejected", "Recipient rejected"
        SKIPPED = "skipped", "Skipped (breaker open or out of credit)"

    request = models.ForeignKey(VerifyRequests, on_delete=models.CASCADE, related_name="attempts")
    engine = models.ForeignKey(Engine, on_delete=models.PROTECT, related_name="attempts")
    round = models.PositiveSmallIntegerField(default=1)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.IN_FLIGHT)
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.CharField(max_length=255, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    channel = models.CharField(max_length=4, choices=VerifyRequests.Channel.choices, default=VerifyRequests.Channel.SMS)
    reason = models.CharField(max_length=120, blank=True, help_text="Why this engine was tried (routing policy).")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["engine", "created_at"], name="attempt_engine_created"),
            # The provider-health page: every attempt of the last day, and each engine's last error.
            models.Index(fields=["created_at"], name="attempt_created"),
            models.Index(
                fields=["engine", "-created_at"], name="attempt_engine_error", condition=~models.Q(error_code="")
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.pk} of request {self.request_id} at {self.engine_id}: {self.outcome}"


# --- Rate limits and the country allowlist (operators' overrides of the SMS_GATEWAY defaults) ---------


class RateLimit(models.Model):
    """One window of one limit scope. The rows of a scope replace that scope's settings defaults."""

    class Scope(models.TextChoices):
        PHONE = "phone", "Per phone number"
        PREFIX = "prefix", "Per number prefix (country code + first 7 national digits)"
        CLIENT = "client", "Per API client"
        IP = "ip", "Per client IP address"

    scope = models.CharField(max_length=8, choices=Scope.choices)
    limit = models.PositiveIntegerField(help_text="Sends allowed in the window.")
    period_seconds = models.PositiveIntegerField(help_text="Window length in seconds, e.g. 600 for 10 minutes.")
    enabled = models.BooleanField(
        default=True, help_text="A disabled row still replaces the defaults: one disabled row switches the scope off."
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["scope", "period_seconds"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "period_seconds"], name="uniq_ratelimit_scope_period"),
            models.CheckConstraint(condition=models.Q(period_seconds__gt=0), name="ratelimit_period_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}: {self.limit} per {self.period_seconds}s"


class AllowedRegion(models.Model):
    """A country we send to. When any row exists, the enabled rows replace SMS_GATEWAY["ALLOWED_REGIONS"]."""

    region = models.CharField(max_length=2, unique=True, help_text="ISO 3166 code, e.g. IR.")
    enabled = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["region"]
        verbose_name = "allowed country"
        verbose_name_plural = "allowed countries"

    def __str__(self) -> str:
        return self.region
