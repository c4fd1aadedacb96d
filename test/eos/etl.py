"""Consume-transform-produce with confluent-kafka (librdkafka) transactions.

Usage: etl.py BOOTSTRAP IN OUT GROUP TRANSACTIONAL_ID

Reads IN in GROUP with read_committed, writes b"out-" + value to OUT and
commits the input offsets in the same transaction, as confluent-kafka's
documented exactly-once example does. Runs until SIGTERM. An abortable
error aborts and rewinds to the committed offsets; a fatal one exits 2, and
a call that hangs past its timeout exits 3, so that the test's supervisor
starts a new process, as an operator's would.
"""
import os
import signal
import sys
import threading

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

bootstrap, in_topic, out_topic, group, txn_id = sys.argv[1:6]
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)

consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": group,
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "isolation.level": "read_committed",
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 500,
})
producer = Producer({
    "bootstrap.servers": bootstrap,
    "transactional.id": txn_id,
    "transaction.timeout.ms": 10000,
})
producer.init_transactions(30)
consumer.subscribe([in_topic])


def rewind():
    """Seek back to the committed offsets after an abort."""
    parts = consumer.assignment()
    for tp in consumer.committed(parts, timeout=30):
        if tp.offset >= 0:
            consumer.seek(tp)
        else:
            consumer.seek(TopicPartition(tp.topic, tp.partition, 0))


# The timeout of each transactional call, in seconds.
CALL_TIMEOUT = 30


def hung(what):
    """Ends the process as a crash would, for the supervisor to start
    again: librdkafka's send_offsets_to_transaction can wait forever, past
    its timeout (confluentinc/librdkafka#5456), for a group coordinator
    whose broker has left the metadata (#5511), as a SIGKILLed coordinator
    does. The new process fences this one's epoch and its transaction is
    aborted, so no input is lost or written twice."""
    print("hung:", what, "did not return; exiting", file=sys.stderr, flush=True)
    os._exit(3)


def retried(what, op):
    """Runs op (a transactional call given CALL_TIMEOUT) again while it
    fails with a retriable error, as confluent-kafka documents for
    send_offsets_to_transaction and commit_transaction. Retrying only the
    commit after a failed send_offsets_to_transaction would commit the
    output without the input offsets, and the input would be read and
    written again. A call that outlives its timeout by far ends the
    process (hung)."""
    while True:
        watchdog = threading.Timer(CALL_TIMEOUT + 15, hung, [what])
        watchdog.daemon = True
        watchdog.start()
        try:
            return op()
        except KafkaException as e:
            if not e.args[0].retriable():
                raise
            print("retry:", e.args[0], file=sys.stderr, flush=True)
        finally:
            watchdog.cancel()


while running:
    msgs = consumer.consume(500, timeout=0.5)
    # The generation these records were read in: should the group
    # rebalance before the commit, the coordinator refuses the offsets
    # (KIP-447) and the transaction aborts, instead of committing output
    # whose input a new owner reads again.
    group = consumer.consumer_group_metadata()
    msgs = [m for m in msgs if m.error() is None]
    if not msgs:
        continue
    ends = {}
    for m in msgs:
        ends[(m.topic(), m.partition())] = m.offset() + 1
    offsets = [TopicPartition(t, p, o) for (t, p), o in ends.items()]
    producer.begin_transaction()
    try:
        for m in msgs:
            producer.produce(out_topic, key=m.key(), value=b"out-" + m.value())
        retried("send_offsets_to_transaction",
                lambda: producer.send_offsets_to_transaction(offsets, group, CALL_TIMEOUT))
        retried("commit_transaction", lambda: producer.commit_transaction(CALL_TIMEOUT))
    except KafkaException as e:
        err = e.args[0]
        if err.txn_requires_abort():
            print("abort:", err, file=sys.stderr, flush=True)
            producer.abort_transaction(30)
            rewind()
        else:
            print("fatal:", err, file=sys.stderr, flush=True)
            sys.exit(2)
consumer.close()
