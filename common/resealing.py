"""Moving every sealed value at rest to the current sealing key, after a key rotation (``manage.py reseal``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import models, transaction
from django.db.models.functions import Cast

from common.fields import SealedColumn
from common.sealing import resealed


@dataclass(frozen=True)
class ColumnResealed:
    label: str  # "app.Model.field"
    checked: int
    resealed: int


def sealed_columns() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) declared with a sealed field class, in every installed app."""
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, SealedColumn)
    ]


def column_reseal(*, model: type[models.Model], field_name: str, batch_size: int) -> ColumnResealed:
    """Re-seal, under the sealing key, every value of one column that another key sealed; batch by batch.

    Each batch's rows are locked while they are rewritten, so a concurrent write (a verification emptying
    its code) is never overwritten with the old value.
    """
    # The stored text as it is: a SealedTextField would hand back the opened value, and take a value to seal.
    stored = Cast(field_name, output_field=models.TextField())
    rows = model._base_manager.annotate(stored=stored).exclude(stored="").order_by("pk")
    checked = changed = 0
    last = None
    while True:
        with transaction.atomic():
            page = rows if last is None else rows.filter(pk__gt=last)
            batch = list(page.select_for_update().values_list("pk", "stored")[:batch_size])
            for pk, old in batch:
                new = resealed(old)
                if new is not None:
                    model._base_manager.filter(pk=pk).update(
                        **{field_name: models.Value(new, output_field=models.TextField())}
                    )
                    changed += 1
        if not batch:
            return ColumnResealed(f"{model._meta.label}.{field_name}", checked, changed)
        checked += len(batch)
        last = batch[-1][0]


def secrets_reseal(*, batch_size: int = 500) -> list[ColumnResealed]:
    """Re-seal every sealed column of every model under the sealing key."""
    return [column_reseal(model=model, field_name=name, batch_size=batch_size) for model, name in sealed_columns()]
