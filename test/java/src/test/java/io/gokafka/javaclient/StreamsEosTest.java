package io.gokafka.javaclient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * Kafka Streams exactly_once_v2 word count over a known input, with the
 * application SIGKILLed and restarted and then a broker SIGKILLed: the
 * counts read with read_committed are exact, never above the truth. An
 * at-least-once run of the same kills would count replayed input twice.
 * Kills a node: run on a fresh cluster.
 */
class StreamsEosTest {
    static final String IN = "eos-words", OUT = "eos-counts";
    static final int WORDS = 30, LINES = 3000, PER_LINE = 3;

    @Test
    void wordCountSurvivesKills() throws Exception {
        try (Admin admin = Gokafka.admin()) {
            Gokafka.createTopic(admin, IN, 3, 3, Map.of("min.insync.replicas", "2"));
            Gokafka.createTopic(admin, OUT, 3, 3, Map.of("min.insync.replicas", "2"));
        }
        Path state = Files.createTempDirectory("eos-state");
        produceLines(0, LINES / 3, null);
        Process app = startApp(state);
        AtomicInteger produced = new AtomicInteger(LINES / 3);
        AtomicReference<Exception> feedFailed = new AtomicReference<>();
        Thread feeder = new Thread(() -> {
            try {
                produceLines(LINES / 3, LINES, produced);
            } catch (Exception e) {
                feedFailed.set(e);
            }
        });
        try {
            // The kills land while input flows, so that some of it has been
            // processed but not committed: the case exactly-once is for.
            Gokafka.eventually("first counts committed", Duration.ofSeconds(120), () -> !readCounts().isEmpty());
            feeder.start();
            Gokafka.eventually("input flowing", Duration.ofSeconds(60), () -> produced.get() > LINES / 2);
            app.destroyForcibly(); // SIGKILL mid-stream: an open transaction is left behind
            assertTrue(app.waitFor(10, TimeUnit.SECONDS), "application exited");
            app = startApp(state);
            Gokafka.kill(3);
            feeder.join(120_000);
            assertEquals(null, feedFailed.get(), "producing the input");
            assertEquals(LINES, produced.get(), "input lines acknowledged");
            Map<String, Long> want = expected();
            Map<String, Long> got = new HashMap<>();
            Gokafka.eventually("exact counts", Duration.ofSeconds(120), () -> {
                got.clear();
                got.putAll(readCounts());
                return got.equals(want);
            });
            assertEquals(want, got, "word counts read with read_committed");
        } finally {
            app.destroyForcibly();
            feeder.interrupt();
        }
    }

    /**
     * Line i holds words i, i+1 and i+2 modulo WORDS. With done, sends are
     * paced a few milliseconds apart and done counts the acknowledged ones;
     * a failed send fails the run when the producer closes.
     */
    static void produceLines(int from, int to, AtomicInteger done) throws Exception {
        Properties p = Gokafka.producerProps();
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120000);
        AtomicReference<Exception> failed = new AtomicReference<>();
        try (KafkaProducer<String, String> prod = new KafkaProducer<>(p)) {
            for (int i = from; i < to; i++) {
                StringBuilder line = new StringBuilder();
                for (int j = 0; j < PER_LINE; j++) line.append(j > 0 ? " " : "").append("w").append((i + j) % WORDS);
                prod.send(new ProducerRecord<>(IN, Integer.toString(i), line.toString()), (md, e) -> {
                    if (e != null) failed.compareAndSet(null, e);
                    else if (done != null) done.incrementAndGet();
                });
                if (done != null) Thread.sleep(3);
            }
            prod.flush();
        }
        if (failed.get() != null) throw failed.get();
    }

    static Map<String, Long> expected() {
        Map<String, Long> m = new HashMap<>();
        for (int i = 0; i < LINES; i++) {
            for (int j = 0; j < PER_LINE; j++) m.merge("w" + ((i + j) % WORDS), 1L, Long::sum);
        }
        return m;
    }

    /**
     * The latest count of each word in the output, read_committed. Counts
     * per word must never go down or pass the truth; a violation fails at
     * once rather than waiting out the deadline.
     */
    static Map<String, Long> readCounts() {
        Map<String, Long> last = new HashMap<>();
        Map<String, Long> want = expected();
        Properties p = Gokafka.consumerProps(null);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            var parts = c.partitionsFor(OUT).stream()
                    .map(i -> new org.apache.kafka.common.TopicPartition(OUT, i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<org.apache.kafka.common.TopicPartition, Long> end = c.endOffsets(parts);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
                for (var r : c.poll(Duration.ofMillis(200))) {
                    long n = Long.parseLong(r.value());
                    Long prev = last.put(r.key(), n);
                    if (prev != null && n < prev) throw new AssertionError(r.key() + " went from " + prev + " to " + n);
                    if (n > want.get(r.key())) throw new AssertionError(r.key() + " counted " + n + ", input holds " + want.get(r.key()));
                }
            }
        }
        return last;
    }

    static Process startApp(Path state) throws Exception {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process p = new ProcessBuilder(java, "-cp", cp,
                "-Dgokafka.bootstrap=" + Gokafka.bootstrap(),
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-Deos.guarantee=" + System.getProperty("eos.guarantee", "exactly_once_v2"),
                WordCountProcess.class.getName(), IN, OUT, state.toString())
                .redirectErrorStream(true).start();
        CountDownLatch running = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.equals("RUNNING")) running.countDown();
                    else System.out.println("streams: " + line);
                }
            } catch (Exception e) {
                // the application was killed
            }
        });
        reader.setDaemon(true);
        reader.start();
        assertTrue(running.await(90, TimeUnit.SECONDS), "Kafka Streams reached RUNNING");
        return p;
    }
}
