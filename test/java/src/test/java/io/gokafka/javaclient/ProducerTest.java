package io.gokafka.javaclient;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** KafkaProducer's defaults and options against gokafka, read back with KafkaConsumer. */
class ProducerTest extends WithAdmin {
    /**
     * The 4.x default producer (idempotent, acks=all) with each compression
     * codec: offsets are dense from 0 in send order, and every record reads
     * back with its key, value and headers.
     */
    @ParameterizedTest
    @ValueSource(strings = {"none", "gzip", "snappy", "lz4", "zstd"})
    void compressionRoundTrip(String codec) throws Exception {
        String topic = "compressed-" + codec;
        Gokafka.createTopic(admin, topic, 1, 3, null);
        Properties p = Gokafka.producerProps();
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        int n = 500;
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        try (KafkaProducer<String, String> prod = new KafkaProducer<>(p)) {
            for (int i = 0; i < n; i++) {
                List<Header> hs = List.of(new RecordHeader("seq", Integer.toString(i).getBytes(StandardCharsets.UTF_8)),
                        new RecordHeader("codec", codec.getBytes(StandardCharsets.UTF_8)));
                acks.add(prod.send(new ProducerRecord<>(topic, 0, null, "k" + i, "v" + i + "-" + "x".repeat(i % 97), hs)));
            }
            prod.flush();
        }
        for (int i = 0; i < n; i++) {
            assertEquals(i, acks.get(i).get().offset(), "offset of record " + i);
        }
        List<ConsumerRecord<String, String>> got = Gokafka.readAll(List.of(new TopicPartition(topic, 0)), n, Duration.ofSeconds(20));
        assertEquals(n, got.size(), "records read back");
        for (int i = 0; i < n; i++) {
            ConsumerRecord<String, String> r = got.get(i);
            assertEquals(i, r.offset());
            assertEquals("k" + i, r.key());
            assertEquals("v" + i + "-" + "x".repeat(i % 97), r.value());
            assertArrayEquals(Integer.toString(i).getBytes(StandardCharsets.UTF_8), r.headers().lastHeader("seq").value());
            assertArrayEquals(codec.getBytes(StandardCharsets.UTF_8), r.headers().lastHeader("codec").value());
        }
    }

    /**
     * Explicit acks=all with enable.idempotence: a producer that sends the
     * same records twice from two instances gets distinct offsets, and the
     * broker registered a producer id (describeProducers shows it).
     */
    @Test
    void idempotentAcksAll() throws Exception {
        String topic = "idempotent";
        Gokafka.createTopic(admin, topic, 1, 3, Map.of("min.insync.replicas", "2"));
        Properties p = Gokafka.producerProps();
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256); // many small in-flight batches
        try (KafkaProducer<String, String> prod = new KafkaProducer<>(p)) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (int i = 0; i < 2000; i++) {
                acks.add(prod.send(new ProducerRecord<>(topic, 0, "k", "v" + i)));
            }
            prod.flush();
            for (int i = 0; i < acks.size(); i++) {
                assertEquals(i, acks.get(i).get().offset());
            }
        }
        var states = admin.describeProducers(List.of(new TopicPartition(topic, 0))).all().get()
                .get(new TopicPartition(topic, 0)).activeProducers();
        assertEquals(1, states.size(), "active producers: " + states);
        assertEquals(1999, states.get(0).lastSequence(), "last sequence of the producer");
    }

    /**
     * A topic's max.message.bytes bounds a batch: a record just under it is
     * stored whole, one over it fails with RecordTooLargeException and is
     * not stored.
     */
    @Test
    void recordsNearMaxMessageBytes() throws Exception {
        String topic = "large";
        int max = 200_000;
        Gokafka.createTopic(admin, topic, 1, 3, Map.of("max.message.bytes", Integer.toString(max)));
        Properties p = Gokafka.producerProps();
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, max);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        String near = "n".repeat(max - 200); // batch and record overhead stay under 200 bytes
        String over = "o".repeat(max + 1000);
        try (KafkaProducer<String, String> prod = new KafkaProducer<>(p)) {
            assertEquals(0, prod.send(new ProducerRecord<>(topic, 0, "near", near)).get().offset());
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> prod.send(new ProducerRecord<>(topic, 0, "over", over)).get());
            assertInstanceOf(RecordTooLargeException.class, e.getCause(), "over max.message.bytes");
            assertEquals(1, prod.send(new ProducerRecord<>(topic, 0, "after", "small")).get().offset(),
                    "the refused record took no offset");
        }
        List<ConsumerRecord<String, String>> got = Gokafka.readAll(List.of(new TopicPartition(topic, 0)), 2, Duration.ofSeconds(20));
        assertEquals(2, got.size());
        assertEquals(near, got.get(0).value());
        assertEquals("small", got.get(1).value());
        assertTrue(got.stream().noneMatch(r -> r.key().equals("over")));
    }
}
