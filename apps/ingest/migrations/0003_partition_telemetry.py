"""Telemetry partitioned by month of `ts` (see apps/ingest/partitions.py).

The table is rebuilt as a partitioned one with the same columns, constraints and index
names Django knows, its rows copied over; the model's state does not change.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE ingest_telemetryreading RENAME TO ingest_telemetryreading_unpartitioned;
ALTER TABLE ingest_telemetryreading_unpartitioned RENAME CONSTRAINT reading_unique_per_device TO reading_unique_old1;
ALTER TABLE ingest_telemetryreading_unpartitioned RENAME CONSTRAINT reading_unique_per_metric_ts TO reading_unique_old2;
ALTER INDEX reading_device_metric_recent RENAME TO reading_device_metric_recent_old;
CREATE SEQUENCE ingest_telemetryreading_pid_seq AS bigint;
CREATE TABLE ingest_telemetryreading (
    id bigint NOT NULL DEFAULT nextval('ingest_telemetryreading_pid_seq'),
    message_id uuid NOT NULL,
    metric varchar(64) NOT NULL,
    value double precision NOT NULL,
    unit varchar(16) NOT NULL,
    ts timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    device_id bigint NOT NULL REFERENCES devices_device(id) DEFERRABLE INITIALLY DEFERRED,
    tenant_id bigint NOT NULL REFERENCES tenancy_tenant(id) DEFERRABLE INITIALLY DEFERRED,
    inverter varchar(64) NOT NULL DEFAULT '',
    PRIMARY KEY (id, ts),
    CONSTRAINT reading_unique_per_device UNIQUE (device_id, message_id, ts),
    CONSTRAINT reading_unique_per_metric_ts UNIQUE (device_id, inverter, metric, ts)
) PARTITION BY RANGE (ts);
ALTER SEQUENCE ingest_telemetryreading_pid_seq OWNED BY ingest_telemetryreading.id;
CREATE INDEX reading_device_metric_recent ON ingest_telemetryreading (device_id, metric, ts DESC);
CREATE INDEX ingest_telemetryreading_tenant_ts ON ingest_telemetryreading (tenant_id, ts);
CREATE TABLE ingest_telemetryreading_default PARTITION OF ingest_telemetryreading DEFAULT;
INSERT INTO ingest_telemetryreading (id, message_id, metric, value, unit, ts, received_at, device_id, tenant_id,
                                     inverter)
SELECT id, message_id, metric, value, unit, ts, received_at, device_id, tenant_id, inverter
FROM ingest_telemetryreading_unpartitioned;
SELECT setval('ingest_telemetryreading_pid_seq', COALESCE((SELECT max(id) FROM ingest_telemetryreading), 0) + 1,
              false);
DROP TABLE ingest_telemetryreading_unpartitioned;
"""

BACKWARD = """
CREATE TABLE ingest_telemetryreading_flat (LIKE ingest_telemetryreading INCLUDING DEFAULTS);
INSERT INTO ingest_telemetryreading_flat SELECT * FROM ingest_telemetryreading;
DROP TABLE ingest_telemetryreading;
ALTER TABLE ingest_telemetryreading_flat RENAME TO ingest_telemetryreading;
ALTER TABLE ingest_telemetryreading ADD PRIMARY KEY (id);
ALTER TABLE ingest_telemetryreading ADD CONSTRAINT reading_unique_per_device UNIQUE (device_id, message_id, ts);
ALTER TABLE ingest_telemetryreading ADD CONSTRAINT reading_unique_per_metric_ts
    UNIQUE (device_id, inverter, metric, ts);
CREATE INDEX reading_device_metric_recent ON ingest_telemetryreading (device_id, metric, ts DESC);
"""


def create_current_partitions(apps, schema_editor):
    from apps.ingest.partitions import ensure_partitions

    ensure_partitions()


class Migration(migrations.Migration):
    dependencies = [("ingest", "0002_telemetry_inverter"), ("devices", "0001_initial"), ("tenancy", "0001_initial")]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RunPython(create_current_partitions, migrations.RunPython.noop),
    ]
