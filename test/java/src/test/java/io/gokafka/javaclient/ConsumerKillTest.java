package io.gokafka.javaclient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Test;

/** A group member's JVM SIGKILLed: the coordinator expires it and the survivor takes its partitions. */
class ConsumerKillTest {
    static final int SESSION_MS = 6000; // Kafka's group.min.session.timeout.ms

    @Test
    void killedMembersPartitionsMove() throws Exception {
        String topic = "member-kill", group = "kill-group";
        try (Admin admin = Gokafka.admin()) {
            Gokafka.createTopic(admin, topic, 4, 3, null);
        }
        Process child = startChild(topic, group);
        try {
            AtomicInteger childAssigned = new AtomicInteger(-1);
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream()))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        if (line.startsWith("ASSIGNED ")) childAssigned.set(Integer.parseInt(line.substring(9)));
                        else System.out.println("child: " + line);
                    }
                } catch (Exception e) {
                    // the child died; the test checks what it printed before
                }
            });
            reader.setDaemon(true);
            reader.start();
            Gokafka.eventually("child owns all 4 partitions", Duration.ofSeconds(30), () -> childAssigned.get() == 4);

            Properties p = Gokafka.consumerProps(group);
            p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, SESSION_MS);
            p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500);
            try (KafkaConsumer<String, String> survivor = new KafkaConsumer<>(p)) {
                survivor.subscribe(List.of(topic));
                ConsumerTest.pollUntil(List.of(survivor), () -> survivor.assignment().size() == 2 && childAssigned.get() == 2,
                        "two partitions each");
                child.destroyForcibly(); // SIGKILL: no LeaveGroup, no commit, sockets reset
                assertTrue(child.waitFor(10, TimeUnit.SECONDS), "child exited");
                long killed = System.nanoTime();
                long deadline = killed + TimeUnit.MILLISECONDS.toNanos(SESSION_MS + 8000);
                while (survivor.assignment().size() != 4 && System.nanoTime() < deadline) survivor.poll(Duration.ofMillis(100));
                long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed);
                assertEquals(4, survivor.assignment().size(), "survivor's partitions " + took + " ms after the kill");
                System.out.println("measured: partitions moved " + took + " ms after SIGKILL (session.timeout.ms " + SESSION_MS + ")");
                assertTrue(took >= SESSION_MS - 1500, "moved after " + took + " ms, before the session could expire");
            }
        } finally {
            child.destroyForcibly();
        }
    }

    static Process startChild(String topic, String group) throws Exception {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return new ProcessBuilder(java, "-cp", cp,
                "-Dgokafka.bootstrap=" + Gokafka.bootstrap(),
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                ConsumerProcess.class.getName(), topic, group, Integer.toString(SESSION_MS))
                .redirectErrorStream(true).start();
    }
}
