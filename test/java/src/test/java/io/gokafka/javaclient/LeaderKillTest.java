package io.gokafka.javaclient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** A partition leader SIGKILLed under an idempotent acks=all producer. Kills a node: run on a fresh cluster. */
class LeaderKillTest {

    @Test
    void leaderKilledMidStream() throws Exception {
        String topic = "failover";
        TopicPartition tp = new TopicPartition(topic, 0);
        int leader;
        try (Admin admin = Gokafka.admin()) {
            Gokafka.createTopic(admin, topic, 1, 3, Map.of("min.insync.replicas", "2"));
            leader = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().get(0).leader().id();
        }
        Properties p = Gokafka.producerProps();
        p.put(ProducerConfig.LINGER_MS_CONFIG, 1);
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 2048);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60000);
        p.put(ProducerConfig.METADATA_MAX_AGE_CONFIG, 1000);
        int total = 20000;
        Set<String> acked = ConcurrentHashMap.newKeySet();
        Map<String, Exception> failed = new ConcurrentHashMap<>();
        AtomicInteger ackCount = new AtomicInteger();
        long[] lastAck = {System.nanoTime(), 0}; // last ack time, longest gap between acks
        boolean killed = false;
        try (KafkaProducer<String, String> prod = new KafkaProducer<>(p)) {
            for (int i = 0; i < total; i++) {
                String v = "r" + i;
                prod.send(new ProducerRecord<>(topic, 0, null, v), (md, e) -> {
                    if (e == null) {
                        long now = System.nanoTime();
                        synchronized (lastAck) {
                            lastAck[1] = Math.max(lastAck[1], now - lastAck[0]);
                            lastAck[0] = now;
                        }
                        acked.add(v);
                        ackCount.incrementAndGet();
                    } else {
                        failed.put(v, e);
                    }
                });
                if (!killed && i == total / 3) {
                    Gokafka.eventually("first acks", Duration.ofSeconds(20), () -> ackCount.get() > 1000);
                    Gokafka.kill(leader);
                    killed = true;
                }
                if (i % 500 == 0) Thread.sleep(5); // keep the stream going across the failover
            }
            prod.flush();
        }
        System.out.printf("measured: failover, longest gap between acks %d ms%n", lastAck[1] / 1_000_000);
        try (Admin admin = Gokafka.admin()) {
            var p0 = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().get(0);
            assertTrue(p0.leader() != null && p0.leader().id() != leader, "leader after the kill: " + p0.leader());
        }
        assertTrue(failed.isEmpty(), "sends failed across the failover (retries should carry them): "
                + failed.entrySet().stream().limit(3).toList());
        assertEquals(total, acked.size(), "acknowledged records");

        List<ConsumerRecord<String, String>> got = Gokafka.readAll(List.of(tp), total, Duration.ofSeconds(60));
        Map<String, Integer> seen = new HashMap<>();
        for (ConsumerRecord<String, String> r : got) seen.merge(r.value(), 1, Integer::sum);
        List<String> dups = seen.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).limit(5).toList();
        assertTrue(dups.isEmpty(), "duplicates after the failover, e.g. " + dups);
        List<String> lost = acked.stream().filter(v -> !seen.containsKey(v)).limit(5).toList();
        assertTrue(lost.isEmpty(), "acknowledged and lost, e.g. " + lost);
        // Offsets are dense: an idempotent retry never leaves a gap or a second copy.
        for (int i = 0; i < got.size(); i++) assertEquals(i, got.get(i).offset(), "offset " + i);
        // And in send order, as one partition with max.in.flight 5 and idempotence promises.
        for (int i = 0; i < got.size(); i++) assertEquals("r" + i, got.get(i).value(), "order at offset " + i);
    }
}
