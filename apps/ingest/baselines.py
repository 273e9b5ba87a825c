"""The anomaly rule's memory: one statement per batch judges readings and updates the baseline.

Invariant: a baseline row (device, inverter, metric, hour of day in the site's timezone)
is an exponentially weighted mean of x and of x², so mean and variance follow in one pass,
and k new readings fold in with the closed form of the recurrence
    m ← (1-α)^k · m + Σ α (1-α)^r · x_r          (r = how many of the k are newer)
computed in SQL for a whole batch and applied under the row's conflict lock (ON CONFLICT
DO UPDATE reads the row as it is at that moment), so two bridges folding readings of one
inverter at once both count. Readings are judged against the baseline as it was before
their batch; only fresh readings (not duplicates) ever reach it, so a redelivery counts
once. A new baseline starts at its first reading (that reading takes the weight the old
mean would have had), so a batch folds exactly as its readings one at a time would.
Python sees one row per (inverter, metric, hour) of the batch, never one per reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

# A series that never moves has no variance; its spread is taken as at least 1 % of its level
# (and a hair above zero), so a constant baseline does not turn every wobble into infinity sigma.
_BASELINE_STATEMENT = """
WITH input AS (
    SELECT r.*, extract(hour FROM r.ts AT TIME ZONE r.tz)::smallint AS hour
    FROM unnest(%(tenant_id)s::bigint[], %(device_id)s::bigint[], %(inverter)s::varchar[], %(metric)s::varchar[],
                %(ts)s::timestamptz[], %(value)s::float8[], %(tz)s::text[], %(alpha)s::float8[],
                %(direction)s::text[])
         AS r(tenant_id, device_id, inverter, metric, ts, value, tz, alpha, direction)
), judged AS (
    SELECT i.*, b.samples AS old_samples, b.mean AS old_mean,
           greatest(sqrt(greatest(b.mean_sq - b.mean * b.mean, 0)), abs(b.mean) * 0.01, 1e-9) AS old_std,
           row_number() OVER (PARTITION BY i.device_id, i.inverter, i.metric, i.hour ORDER BY i.ts DESC) - 1 AS newer,
           count(*) OVER (PARTITION BY i.device_id, i.inverter, i.metric, i.hour) AS k
    FROM input i
    LEFT JOIN ingest_telemetrybaseline b
      ON b.device_id = i.device_id AND b.inverter = i.inverter AND b.metric = i.metric AND b.hour = i.hour
), scored AS (
    SELECT j.*, CASE j.direction WHEN 'below' THEN (j.old_mean - j.value) / j.old_std
                                 WHEN 'above' THEN (j.value - j.old_mean) / j.old_std
                                 ELSE abs(j.value - j.old_mean) / j.old_std END AS score,
           CASE WHEN j.old_samples IS NULL AND j.newer = j.k - 1 THEN power(1 - j.alpha, j.newer)
                ELSE j.alpha * power(1 - j.alpha, j.newer) END AS weight
    FROM judged j
), grouped AS (
    SELECT tenant_id, device_id, inverter, metric, hour, min(alpha) AS alpha, count(*) AS k,
           sum(weight * value) / sum(weight) AS batch_mean, sum(weight * value * value) / sum(weight) AS batch_mean_sq,
           max(old_samples) AS old_samples, max(old_mean) AS old_mean, max(old_std) AS old_std,
           (array_agg(score ORDER BY ts DESC))[1] AS last_score,
           (array_agg(score ORDER BY score DESC NULLS LAST, ts))[1] AS worst_score,
           (array_agg(value ORDER BY score DESC NULLS LAST, ts))[1] AS worst_value,
           (array_agg(ts ORDER BY score DESC NULLS LAST, ts))[1] AS worst_ts
    FROM scored GROUP BY tenant_id, device_id, inverter, metric, hour
), folded AS (
    INSERT INTO ingest_telemetrybaseline AS b (tenant_id, device_id, inverter, metric, hour, mean, mean_sq, alpha,
                                               samples, updated_at)
    SELECT tenant_id, device_id, inverter, metric, hour, batch_mean, batch_mean_sq, alpha, k, now() FROM grouped
    ON CONFLICT (device_id, inverter, metric, hour) DO UPDATE SET
        mean = b.mean * power(1 - EXCLUDED.alpha, EXCLUDED.samples)
               + EXCLUDED.mean * (1 - power(1 - EXCLUDED.alpha, EXCLUDED.samples)),
        mean_sq = b.mean_sq * power(1 - EXCLUDED.alpha, EXCLUDED.samples)
                  + EXCLUDED.mean_sq * (1 - power(1 - EXCLUDED.alpha, EXCLUDED.samples)),
        alpha = EXCLUDED.alpha, samples = b.samples + EXCLUDED.samples, updated_at = EXCLUDED.updated_at
    RETURNING 1
)
SELECT device_id, inverter, metric, hour, coalesce(old_samples, 0), old_mean, old_std, last_score, worst_score,
       worst_value, worst_ts
FROM grouped
"""


@dataclass(frozen=True)
class Judged:
    """One (device, inverter, metric, hour) of a batch against its usual before the batch."""

    device_id: int
    inverter: str
    metric: str
    hour: int
    samples: int
    usual: float | None
    spread: float | None
    last_score: float | None
    worst_score: float | None
    worst_value: float
    worst_ts: datetime


@dataclass(frozen=True)
class Observation:
    tenant_id: int
    device_id: int
    inverter: str
    metric: str
    ts: datetime
    value: float
    tz: str
    alpha: float
    direction: str


def _array(values: list[str]) -> str:
    escaped = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return "{" + ",".join(escaped) + "}"


def fold_and_judge(observations: list[Observation]) -> list[Judged]:
    """Judge the batch's readings against their baselines and fold them in: one statement."""
    if not observations:
        return []
    columns = {
        "tenant_id": [str(o.tenant_id) for o in observations], "device_id": [str(o.device_id) for o in observations],
        "inverter": [o.inverter for o in observations], "metric": [o.metric for o in observations],
        "ts": [o.ts.isoformat() for o in observations], "value": [repr(float(o.value)) for o in observations],
        "tz": [o.tz for o in observations], "alpha": [repr(float(o.alpha)) for o in observations],
        "direction": [o.direction for o in observations],
    }
    with connection.cursor() as cursor:
        cursor.execute(_BASELINE_STATEMENT, {name: _array(values) for name, values in columns.items()})
        return [Judged(*row) for row in cursor.fetchall()]
