"""Deleting many rows without one long transaction: bounded batches by primary key.

A single `DELETE ... WHERE ts < cutoff` over months of rows holds its locks and writes its
WAL in one go, and a job killed half way has done nothing. Batches of primary keys, each
committed on its own, keep every statement small and make an interrupted run's work stick;
a cap on batches bounds one run, and the next run carries on.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet


def delete_in_batches(queryset: QuerySet, *, batch_size: int, max_batches: int) -> int:
    """Deletes the queryset's rows (and what cascades from them); returns how many of its own."""
    model, deleted = queryset.model, 0
    label = model._meta.label
    for _ in range(max_batches):
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        with transaction.atomic():
            _, per_model = model.objects.filter(pk__in=ids).delete()
        deleted += per_model.get(label, 0)
        if len(ids) < batch_size:
            break
    return deleted
