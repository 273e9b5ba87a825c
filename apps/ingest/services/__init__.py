"""Ingest: store what devices report, update their live state, and apply the rules.

One module per report (`heartbeats`, `scans`, `telemetry`, `device_alerts`), what they
share (`liveness`: a report proves the device alive; `decisions`: what the rules decided
becomes alerts; `batches`: what a batch answers and how its columns travel), the offline
sweep (`sweeps`), retention and partitions (`retention`), and staff edits of a site's rules
(`rulesets`). Callers import the module they need.

The request path does only this: validate, write, evaluate, answer. Scans and readings
are inserted in one statement per batch with `ON CONFLICT DO NOTHING`, so a resent batch
is counted once and concurrent resends are decided by PostgreSQL.

The busiest paths (a heartbeat that changes no alert, a batch of scans that raises none, a
report from a device seen a moment ago) are single statements in autocommit: the request
already holds a fresh copy of the device row (authentication read it), the rules are
judged against that copy, and the write succeeds only if the row still says what the copy
said (compare-and-set). When it doesn't, or when an alert has to be raised or cleared, the
report takes the locked path: the device row locked, everything in one transaction.
"""
