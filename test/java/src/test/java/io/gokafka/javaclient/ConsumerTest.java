package io.gokafka.javaclient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** KafkaConsumer in classic groups (group.protocol=classic) against gokafka. */
class ConsumerTest extends WithAdmin {
    /** One group member on its own thread that commits what it processed inside onPartitionsRevoked. */
    static final class Member implements Runnable, ConsumerRebalanceListener {
        final KafkaConsumer<String, String> consumer;
        final String topic;
        final Map<String, Integer> deliveries;
        final AtomicBoolean stop;
        final Set<TopicPartition> owned = ConcurrentHashMap.newKeySet();
        final AtomicInteger revocations = new AtomicInteger();
        volatile Throwable failure;

        Member(Properties props, String topic, Map<String, Integer> deliveries, AtomicBoolean stop) {
            this.consumer = new KafkaConsumer<>(props);
            this.topic = topic;
            this.deliveries = deliveries;
            this.stop = stop;
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> parts) {
            revocations.incrementAndGet();
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            for (TopicPartition tp : parts) offsets.put(tp, new OffsetAndMetadata(consumer.position(tp)));
            // The commit a rebalancing member makes before giving its
            // partitions up: Kafka accepts it while the group prepares the
            // rebalance, so the next owner starts where this one stopped.
            consumer.commitSync(offsets);
            owned.removeAll(parts);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> parts) {
            owned.addAll(parts);
        }

        @Override
        public void run() {
            try {
                consumer.subscribe(List.of(topic), this);
                while (!stop.get()) {
                    ConsumerRecords<String, String> recs = consumer.poll(Duration.ofMillis(100));
                    for (ConsumerRecord<String, String> r : recs) deliveries.merge(r.value(), 1, Integer::sum);
                    if (!recs.isEmpty()) Thread.sleep(20); // slow enough that joins land mid-stream
                }
            } catch (Throwable t) {
                failure = t;
            } finally {
                consumer.close();
            }
        }
    }

    /**
     * Three members join one after another while 3000 records are consumed,
     * each committing in onPartitionsRevoked: with the eager RangeAssignor
     * (every join revokes everything) and with cooperative-sticky, every
     * record is delivered exactly once and the partitions end up spread
     * over all three members.
     */
    @ParameterizedTest
    @ValueSource(strings = {"range", "cooperative-sticky"})
    void commitInRevokeAvoidsRereads(String assignor) throws Exception {
        String topic = "revoke-" + assignor;
        int partitions = 6, perPartition = 500, total = partitions * perPartition;
        Gokafka.createTopic(admin, topic, partitions, 3, null);
        for (int p = 0; p < partitions; p++) producePrefixed(topic, p, perPartition);

        Map<String, Integer> deliveries = new ConcurrentHashMap<>();
        AtomicBoolean stop = new AtomicBoolean();
        List<Member> members = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        String cls = assignor.equals("range") ? RangeAssignor.class.getName() : CooperativeStickyAssignor.class.getName();
        for (int i = 0; i < 3; i++) {
            Properties props = Gokafka.consumerProps("group-" + assignor);
            props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, cls);
            props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 25);
            Member m = new Member(props, topic, deliveries, stop);
            members.add(m);
            Thread t = new Thread(m, "member-" + i);
            threads.add(t);
            t.start();
            int want = (i + 1) * total / 4;
            Gokafka.eventually("deliveries before member " + (i + 1), Duration.ofSeconds(30), () -> deliveries.size() >= want);
        }
        Gokafka.eventually("all records consumed", Duration.ofSeconds(60), () -> deliveries.size() >= total);
        Gokafka.eventually("partitions spread over 3 members", Duration.ofSeconds(20),
                () -> members.stream().allMatch(m -> !m.owned.isEmpty()));
        stop.set(true);
        for (Thread t : threads) t.join(30_000);
        for (Member m : members) assertNull(m.failure, "member failed: " + m.failure);

        Set<TopicPartition> union = new HashSet<>();
        members.forEach(m -> union.addAll(m.owned));
        assertEquals(total, deliveries.size(), "distinct records");
        long dups = deliveries.values().stream().mapToInt(n -> n - 1).sum();
        assertEquals(0, dups, "records delivered twice across " + members.stream().mapToInt(m -> m.revocations.get()).sum() + " revocations");
        if (assignor.equals("range")) {
            assertTrue(members.get(0).revocations.get() >= 2, "eager: the first member gave up everything on each join");
        }
    }

    /**
     * Static membership: a member that closes and comes back with the same
     * group.instance.id within the session gets its old partitions and the
     * other member sees no rebalance.
     */
    @Test
    void staticMembership() throws Exception {
        String topic = "static";
        Gokafka.createTopic(admin, topic, 4, 3, null);
        Properties pa = Gokafka.consumerProps("static-group");
        pa.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "instance-a");
        pa.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 30000);
        Properties pb = Gokafka.consumerProps("static-group");
        pb.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "instance-b");
        pb.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 30000);
        AtomicInteger aRevoked = new AtomicInteger();
        Set<TopicPartition> aOwned = ConcurrentHashMap.newKeySet();
        try (KafkaConsumer<String, String> a = new KafkaConsumer<>(pa)) {
            a.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                public void onPartitionsRevoked(Collection<TopicPartition> parts) {
                    if (!parts.isEmpty()) aRevoked.incrementAndGet();
                    aOwned.removeAll(parts);
                }

                public void onPartitionsAssigned(Collection<TopicPartition> parts) {
                    aOwned.addAll(parts);
                }
            });
            Set<TopicPartition> bFirst;
            KafkaConsumer<String, String> b = new KafkaConsumer<>(pb);
            b.subscribe(List.of(topic));
            pollUntil(List.of(a, b), () -> aOwned.size() == 2 && b.assignment().size() == 2, "two members with two partitions each");
            bFirst = new HashSet<>(b.assignment());
            int revokedBefore = aRevoked.get();
            b.close(); // a static member leaves no LeaveGroup: its partitions wait for it

            try (KafkaConsumer<String, String> b2 = new KafkaConsumer<>(pb)) {
                b2.subscribe(List.of(topic));
                pollUntil(List.of(a, b2), () -> !b2.assignment().isEmpty(), "instance-b back");
                assertEquals(bFirst, b2.assignment(), "instance-b got its partitions back");
                for (int i = 0; i < 10; i++) a.poll(Duration.ofMillis(100));
                assertEquals(revokedBefore, aRevoked.get(), "instance-a saw no rebalance when instance-b came back");
                assertEquals(2, aOwned.size());
                var desc = admin.describeConsumerGroups(List.of("static-group")).all().get().get("static-group");
                Set<String> ids = new HashSet<>();
                desc.members().forEach(m -> ids.add(m.groupInstanceId().orElse("")));
                assertEquals(Set.of("instance-a", "instance-b"), ids, "group.instance.id of the members");
            }
        }
    }

    /** commitSync and commitAsync store what committed() then reads back, with metadata. */
    @Test
    void commitSyncAndAsync() throws Exception {
        String topic = "commits";
        TopicPartition p0 = new TopicPartition(topic, 0), p1 = new TopicPartition(topic, 1);
        twoFilledPartitions(topic, 10);
        try (KafkaConsumer<String, String> c = Gokafka.consumer("commit-group")) {
            c.subscribe(List.of(topic));
            pollUntil(List.of(c), () -> c.assignment().size() == 2, "assignment");
            c.commitSync(Map.of(p0, new OffsetAndMetadata(7, "sync-meta")));
            assertEquals(new OffsetAndMetadata(7, "sync-meta").offset(), c.committed(Set.of(p0)).get(p0).offset());
            assertEquals("sync-meta", c.committed(Set.of(p0)).get(p0).metadata());

            CompletableFuture<Exception> done = new CompletableFuture<>();
            c.commitAsync(Map.of(p1, new OffsetAndMetadata(4, "async-meta")), (offsets, e) -> done.complete(e));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (!done.isDone() && System.nanoTime() < deadline) c.poll(Duration.ofMillis(50));
            assertTrue(done.isDone(), "commitAsync callback ran");
            assertNull(done.get(), "commitAsync error");
            OffsetAndMetadata got = c.committed(Set.of(p1)).get(p1);
            assertEquals(4, got.offset());
            assertEquals("async-meta", got.metadata());
        }
        // A new member of the group starts at the committed offsets.
        try (KafkaConsumer<String, String> c = Gokafka.consumer("commit-group")) {
            c.subscribe(List.of(topic));
            Map<Integer, Long> first = new HashMap<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (first.size() < 2 && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100))) first.putIfAbsent(r.partition(), r.offset());
            }
            assertEquals(Map.of(0, 7L, 1, 4L), first, "first offsets read after the commits");
        }
    }

    /** seek, seekToBeginning, seekToEnd and offsetsForTimes on an assigned partition. */
    @Test
    void seekAndOffsetsForTimes() throws Exception {
        String topic = "seeks";
        long t0 = System.currentTimeMillis() - 3_600_000;
        TopicPartition tp = Gokafka.filledPartition(admin, topic, 3, 10, t0);
        try (KafkaConsumer<String, String> c = Gokafka.consumer(null)) {
            c.assign(List.of(tp));
            Map<TopicPartition, OffsetAndTimestamp> byTime = c.offsetsForTimes(Map.of(tp, t0 + 4500));
            assertEquals(5, byTime.get(tp).offset(), "first offset at or after t0+4.5s");
            assertEquals(t0 + 5000, byTime.get(tp).timestamp());
            assertNull(c.offsetsForTimes(Map.of(tp, t0 + 60_000)).get(tp), "no record that late");

            c.seek(tp, 3);
            assertEquals(3, firstOffset(c), "after seek(3)");
            c.seekToBeginning(List.of(tp));
            assertEquals(0, firstOffset(c), "after seekToBeginning");
            c.seekToEnd(List.of(tp));
            assertEquals(10, c.position(tp), "position after seekToEnd");
            c.seek(tp, byTime.get(tp).offset());
            assertEquals("value-5", c.poll(Duration.ofSeconds(5)).records(tp).get(0).value());
            assertEquals(Map.of(tp, 0L), c.beginningOffsets(List.of(tp)));
            assertEquals(Map.of(tp, 10L), c.endOffsets(List.of(tp)));
        }
    }

    /** A paused partition returns nothing until resumed; the others keep flowing. */
    @Test
    void pauseResume() throws Exception {
        String topic = "pausing";
        TopicPartition p0 = new TopicPartition(topic, 0), p1 = new TopicPartition(topic, 1);
        twoFilledPartitions(topic, 20);
        try (KafkaConsumer<String, String> c = Gokafka.consumer(null)) {
            c.assign(List.of(p0, p1));
            c.seekToBeginning(List.of(p0, p1));
            c.pause(List.of(p0));
            assertEquals(Set.of(p0), c.paused());
            int fromP1 = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (fromP1 < 20 && System.nanoTime() < deadline) {
                ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(100));
                assertTrue(recs.records(p0).isEmpty(), "records from a paused partition");
                fromP1 += recs.records(p1).size();
            }
            assertEquals(20, fromP1);
            assertEquals(0, c.position(p0), "the paused partition did not advance");
            c.resume(List.of(p0));
            int fromP0 = 0;
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (fromP0 < 20 && System.nanoTime() < deadline) fromP0 += c.poll(Duration.ofMillis(100)).records(p0).size();
            assertEquals(20, fromP0, "records after resume");
        }
    }

    /** A topic of two partitions holding n records each. */
    static void twoFilledPartitions(String topic, int n) throws Exception {
        Gokafka.createTopic(admin, topic, 2, 3, null);
        Gokafka.produce(topic, 0, n, 0);
        Gokafka.produce(topic, 1, n, 0);
    }

    static long firstOffset(KafkaConsumer<String, String> c) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(100));
            if (!recs.isEmpty()) return recs.iterator().next().offset();
        }
        throw new AssertionError("no records within 10s");
    }

    static void pollUntil(List<KafkaConsumer<String, String>> cs, java.util.function.BooleanSupplier cond, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError(what + ": not within 30s");
            for (KafkaConsumer<String, String> c : cs) c.poll(Duration.ofMillis(50));
        }
    }

    static void producePrefixed(String topic, int partition, int count) throws Exception {
        try (var p = Gokafka.producer()) {
            for (int i = 0; i < count; i++) {
                p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, partition, null, "p" + partition + "-" + i));
            }
            p.flush();
        }
    }
}
