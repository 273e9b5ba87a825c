"""Plants over MQTT: the revocation sweep (within 60 s of a revocation anywhere) and layer-1 expiry."""

from __future__ import annotations

import logging

from workers.base import tocsin_task

logger = logging.getLogger(__name__)


@tocsin_task(name="tocsin.iot.sync_revocations", max_retries=0, time_limit=50)
def sync_revocations(self) -> int:
    from apps.iot.deprovisioning import gateway_revocations_sync as sweep

    return sweep()


@tocsin_task(name="tocsin.iot.purge_seen_messages", max_retries=0, time_limit=600)
def purge_seen_messages(self) -> int:
    from apps.iot.ingest import purge_seen_messages as purge

    purged = purge()
    logger.info("mqtt message ids past the dedup window purged", extra={"purged": purged})
    return purged
