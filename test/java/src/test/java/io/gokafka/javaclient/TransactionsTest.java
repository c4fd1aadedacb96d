package io.gokafka.javaclient;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * Transactions with the Java producer, which uses transaction.version 2
 * (KIP-890 part 2) because gokafka finalizes it: no AddPartitionsToTxn or
 * AddOffsetsToTxn, and every commit or abort bumps the producer epoch.
 */
class TransactionsTest extends WithAdmin {
    static final String TOPIC = "txn-java", ID = "txn-java-id", GROUP = "txn-java-group";

    /** The epoch the coordinator holds for ID (DescribeTransactions). */
    static int coordinatorEpoch() throws Exception {
        return admin.describeTransactions(List.of(ID)).description(ID).get().producerEpoch();
    }

    /** The epoch the partition's producer state holds for pid (DescribeProducers). */
    static int partitionEpoch(TopicPartition tp, long pid) throws Exception {
        for (ProducerState s : admin.describeProducers(List.of(tp)).partitionResult(tp).get().activeProducers()) {
            if (s.producerId() == pid) return s.producerEpoch();
        }
        return -1;
    }

    static List<String> read(TopicPartition tp, String isolation, int expected) {
        Properties p = Gokafka.consumerProps(null);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        List<String> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(r -> out.add(r.value()));
            }
            // A little longer, so that a record that should not be there shows up.
            c.poll(Duration.ofMillis(500)).forEach(r -> out.add(r.value()));
        }
        return out;
    }

    @Test
    void commitAbortAndOffsetsBumpTheEpoch() throws Exception {
        Gokafka.createTopic(admin, TOPIC, 1, 3, null);
        TopicPartition tp = new TopicPartition(TOPIC, 0);
        Properties pp = Gokafka.producerProps();
        pp.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, ID);
        try (KafkaProducer<String, String> p = new KafkaProducer<>(pp)) {
            p.initTransactions();
            int e0 = coordinatorEpoch();

            p.beginTransaction();
            p.send(new ProducerRecord<>(TOPIC, 0, "k", "committed-1")).get();
            p.commitTransaction();
            int e1 = coordinatorEpoch();
            assertEquals(e0 + 1, e1, "a commit bumps the epoch under transaction.version 2");
            long pid = admin.describeTransactions(List.of(ID)).description(ID).get().producerId();
            Gokafka.eventually("the commit marker carries the bumped epoch", Duration.ofSeconds(10),
                    () -> partitionEpoch(tp, pid) == e1);

            p.beginTransaction();
            p.send(new ProducerRecord<>(TOPIC, 0, "k", "aborted")).get();
            p.abortTransaction();
            int e2 = coordinatorEpoch();
            assertEquals(e1 + 1, e2, "an abort bumps the epoch");
            Gokafka.eventually("the abort marker carries the bumped epoch", Duration.ofSeconds(10),
                    () -> partitionEpoch(tp, pid) == e2);

            // TxnOffsetCommit v5: the offsets partition joins the transaction with no AddOffsetsToTxn.
            p.beginTransaction();
            p.send(new ProducerRecord<>(TOPIC, 0, "k", "committed-2")).get();
            p.sendOffsetsToTransaction(Map.of(tp, new OffsetAndMetadata(42)), new ConsumerGroupMetadata(GROUP));
            p.commitTransaction();
            assertEquals(e2 + 1, coordinatorEpoch(), "a commit with offsets bumps the epoch");
        }
        assertEquals(List.of("committed-1", "committed-2"), read(tp, "read_committed", 2));
        assertEquals(List.of("committed-1", "aborted", "committed-2"), read(tp, "read_uncommitted", 3));
        Gokafka.eventually("the transaction's group offset", Duration.ofSeconds(10), () -> {
            OffsetAndMetadata o = admin.listConsumerGroupOffsets(GROUP).partitionsToOffsetAndMetadata().get().get(tp);
            return o != null && o.offset() == 42;
        });
    }
}
