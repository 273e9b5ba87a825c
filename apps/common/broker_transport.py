"""Kombu's Redis transport, with one Redis client per channel and connection pool.

Invariant: every command still takes its connection from the channel's pool, so what
reaches Redis, and when, is exactly what the stock transport sends; only the client object
that fronts the pool is kept. The stock channel builds a new `redis.Redis` for every
publish, ack and queue-length read (`Channel.conn_or_acquire`), and redis-py fills some 170
response callbacks into a fresh dict each time: ~0.3 ms of the ~1.1 ms of CPU that
publishing one delivery costs a web request. A client is as thread-safe as its pool, and
kombu drops the pool after a fork (`Channel._after_fork`); the client is built anew
whenever the channel's pool is not the one it was built on.

Selected in settings (`CELERY_BROKER_TRANSPORT`) for `redis://` broker URLs; a `rediss://`
URL keeps kombu's own transport, whose TLS defaults hang on that scheme name.
"""

from __future__ import annotations

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _sync_client = None

    def _create_client(self, asynchronous: bool = False):
        if asynchronous:  # the consumer's BRPOP client: kombu keeps it already
            return super()._create_client(asynchronous=True)
        client = self._sync_client
        if client is None or client.connection_pool is not self.pool:
            client = self._sync_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel
