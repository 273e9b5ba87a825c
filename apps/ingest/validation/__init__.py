"""Fast, strict validation of what devices send: batches (scans, telemetry readings) and
the two busiest single reports (heartbeats, device-raised alerts), one module per report.

Plain Python rather than DRF serializers: a batch of 500 scans must cost milliseconds and
report a bad item by its index while the rest are stored, and a heartbeat is validated on
every beat of every device (the serializers cost more than the database work behind them).
The single-report validators accept and refuse what the serializers in
`apps/ingest/api/serializers.py` describe (those remain the OpenAPI schema), with DRF's
messages, so a firmware author sees the same errors either way; the serializers take their
patterns and limits from here, and tests/ingest/test_report_contract.py holds the two to
the same answers.

- `fields`: DRF-shaped checks of one value (messages as DRF words them) and strict objects;
- `items`: the checks of one item of a batch (short messages, every field at once);
- `heartbeat`, `device_alert`, `scans`, `readings`: one report each;
- `typed`: the fields the personal-data check need not read.
"""
