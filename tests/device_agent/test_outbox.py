"""The durable outbox: order, stable batches, ack/park, heartbeat collapse, no loss."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from device_agent.outbox import ALERT, HEARTBEAT, SCAN, NewItem, Outbox


def scan(n: int, at: float) -> NewItem:
    return NewItem(kind=SCAN, item_id=f"scan-{n}", occurred_at=at, payload={"scan_id": f"scan-{n}"})


def test_pragmas_make_every_commit_durable(tmp_path: Path) -> None:
    outbox = Outbox(str(tmp_path / "outbox.sqlite3"))
    connection = outbox._connection()
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    outbox.close()


def test_items_come_out_in_timestamp_order_and_ids_are_unique(tmp_path: Path) -> None:
    outbox = Outbox(str(tmp_path / "o.db"))
    outbox.put_many([scan(1, 30.0), scan(2, 10.0), scan(3, 20.0)])
    outbox.put(scan(2, 99.0))  # the same id again changes nothing
    batch = outbox.take_batch(SCAN, 10)
    assert batch is not None
    assert [i.item_id for i in batch.items] == ["scan-2", "scan-3", "scan-1"]
    assert batch.items[0].occurred_at == 10.0


def test_a_batch_keeps_its_id_and_items_until_acknowledged(tmp_path: Path) -> None:
    path = str(tmp_path / "o.db")
    outbox = Outbox(path)
    outbox.put_many([scan(n, float(n)) for n in range(5)])
    first = outbox.take_batch(SCAN, 3)
    outbox.put(scan(-1, -1.0))
    outbox.close()
    reopened = Outbox(path)  # as after a crash
    again = reopened.take_batch(SCAN, 3)
    assert again == first
    reopened.ack([item.seq for item in first.items])
    rest = reopened.take_batch(SCAN, 10)
    assert rest.batch_id != first.batch_id
    assert [i.item_id for i in rest.items] == ["scan--1", "scan-3", "scan-4"]


def test_parked_items_keep_their_reason_and_leave_the_queue(tmp_path: Path) -> None:
    outbox = Outbox(str(tmp_path / "o.db"))
    outbox.put_many([scan(1, 1.0), scan(2, 2.0)])
    batch = outbox.take_batch(SCAN, 10)
    outbox.park([(batch.items[0].seq, "400 invalid: birth_year")], now=5.0)
    outbox.record_failure([batch.items[1].seq], "503")
    counts = outbox.counts()
    assert (counts.fresh, counts.retrying, counts.parked) == (0, 1, 1)
    assert outbox.parked_items(10) == [(SCAN, "scan-1", "400 invalid: birth_year")]
    assert [i.item_id for i in outbox.take_batch(SCAN, 10).items] == ["scan-2"]


def test_urgent_items_go_first(tmp_path: Path) -> None:
    outbox = Outbox(str(tmp_path / "o.db"))
    outbox.put(NewItem(kind=ALERT, item_id="breach", occurred_at=1.0, payload={}))
    outbox.put(NewItem(kind=ALERT, item_id="underage", occurred_at=2.0, payload={}, urgent=True))
    assert outbox.summaries()[ALERT].urgent == 1
    assert outbox.take_batch(ALERT, 1).items[0].item_id == "underage"


def test_heartbeats_older_than_an_hour_collapse_to_the_newest(tmp_path: Path) -> None:
    outbox = Outbox(str(tmp_path / "o.db"))
    now = 10_000.0
    ages = [7000, 5000, 3700, 100]
    outbox.put_many([NewItem(kind=HEARTBEAT, item_id=f"hb-{a}", occurred_at=now - a, payload={})
                     for a in ages])
    outbox.put(scan(1, now - 9000))
    assert outbox.collapse_stale_heartbeats(now) == 2
    remaining = []
    while (batch := outbox.take_batch(HEARTBEAT, 1)) is not None:
        remaining.append(batch.items[0].item_id)
        outbox.ack([batch.items[0].seq])
    assert remaining == ["hb-3700", "hb-100"]
    assert outbox.take_batch(SCAN, 10).items[0].item_id == "scan-1", "scans are never collapsed"


def test_another_thread_reads_through_its_own_connection(tmp_path: Path) -> None:
    import threading

    outbox = Outbox(str(tmp_path / "o.db"))
    outbox.put(scan(1, 1.0))
    seen = []
    thread = threading.Thread(target=lambda: seen.append(outbox.counts().fresh))
    thread.start()
    thread.join()
    assert seen == [1]
    assert isinstance(outbox._connection(), sqlite3.Connection)


operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.just(0), st.floats(0, 1000)),
        st.tuples(st.just("send"), st.integers(1, 7), st.sampled_from(["ack", "fail", "crash"])),
        st.tuples(st.just("reopen"), st.just(0), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(operations)
def test_no_scan_is_ever_lost_or_sent_out_of_its_batch(tmp_path_factory, ops) -> None:
    """Whatever interleaving of puts, sends, failures and restarts: every scan put is either
    acknowledged or still queued, and a resent batch is always the same batch."""
    path = str(tmp_path_factory.mktemp("prop") / "o.db")
    outbox = Outbox(path)
    put, acknowledged, in_flight = set(), set(), {}
    for step, (op, number, arg) in enumerate(ops):
        if op == "put":
            outbox.put(scan(step, arg))
            put.add(f"scan-{step}")
        elif op == "reopen":
            outbox.close()
            outbox = Outbox(path)
        else:
            batch = outbox.take_batch(SCAN, number)
            if batch is None:
                continue
            ids = [i.item_id for i in batch.items]
            if batch.batch_id in in_flight:
                assert in_flight[batch.batch_id] == ids
            if arg == "ack":
                outbox.ack([i.seq for i in batch.items])
                acknowledged.update(ids)
                in_flight.pop(batch.batch_id, None)
            elif arg == "fail":
                outbox.record_failure([i.seq for i in batch.items], "503")
                in_flight[batch.batch_id] = ids
            else:
                in_flight[batch.batch_id] = ids
    queued = set()
    while (batch := outbox.take_batch(SCAN, 500)) is not None:
        queued.update(i.item_id for i in batch.items)
        outbox.ack([i.seq for i in batch.items])
    assert queued | acknowledged == put
    assert not queued & acknowledged
    outbox.close()
