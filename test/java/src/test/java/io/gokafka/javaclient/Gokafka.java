package io.gokafka.javaclient;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The cluster the Go test started, as the system properties it passed:
 * gokafka.bootstrap (host:port,...) and gokafka.nodes (id=pid,...). Tests
 * that kill a broker do it here with SIGKILL; nothing restarts it.
 */
final class Gokafka {
    private Gokafka() {}

    static String bootstrap() {
        String b = System.getProperty("gokafka.bootstrap");
        if (b == null || b.isEmpty()) {
            throw new IllegalStateException("gokafka.bootstrap is not set: run these tests from test/javaclient (go test)");
        }
        return b;
    }

    /** Node id to process id, from gokafka.nodes. */
    static Map<Integer, Long> pids() {
        Map<Integer, Long> m = new HashMap<>();
        for (String kv : System.getProperty("gokafka.nodes", "").split(",")) {
            if (kv.isEmpty()) continue;
            String[] p = kv.split("=");
            m.put(Integer.parseInt(p[0]), Long.parseLong(p[1]));
        }
        return m;
    }

    /** SIGKILLs a broker and waits until its process is gone. */
    static void kill(int nodeId) throws Exception {
        Long pid = pids().get(nodeId);
        if (pid == null) throw new IllegalStateException("no pid for node " + nodeId);
        Process p = new ProcessBuilder("kill", "-9", Long.toString(pid)).inheritIO().start();
        if (p.waitFor() != 0) throw new IllegalStateException("kill -9 " + pid + " failed");
        eventually("node " + nodeId + " gone", Duration.ofSeconds(10),
                () -> ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true));
    }

    static Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
        return Admin.create(p);
    }

    static Properties producerProps() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return p;
    }

    static KafkaProducer<String, String> producer() {
        return new KafkaProducer<>(producerProps());
    }

    static Properties consumerProps(String group) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        if (group != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
        }
        return p;
    }

    static KafkaConsumer<String, String> consumer(String group) {
        return new KafkaConsumer<>(consumerProps(group));
    }

    /** Creates a topic and waits until every partition has a leader. */
    static void createTopic(Admin admin, String name, int partitions, int rf, Map<String, String> configs) throws Exception {
        NewTopic t = new NewTopic(name, partitions, (short) rf);
        if (configs != null) t.configs(configs);
        admin.createTopics(List.of(t)).all().get();
        eventually("leaders of " + name, Duration.ofSeconds(15), () -> {
            return admin.describeTopics(List.of(name)).allTopicNames().get().get(name).partitions().stream()
                    .allMatch(p -> p.leader() != null && !p.leader().isEmpty());
        });
    }

    /** A new one-partition topic holding count records (timestamps as in produce). */
    static TopicPartition filledPartition(Admin admin, String topic, int rf, int count, long firstTimestamp) throws Exception {
        createTopic(admin, topic, 1, rf, null);
        produce(topic, 0, count, firstTimestamp);
        return new TopicPartition(topic, 0);
    }

    /** Produces count records key-i/value-i to one partition and waits for every ack. */
    static void produce(String topic, int partition, int count, long firstTimestamp) throws Exception {
        try (KafkaProducer<String, String> p = producer()) {
            for (int i = 0; i < count; i++) {
                Long ts = firstTimestamp > 0 ? firstTimestamp + 1000L * i : null;
                p.send(new ProducerRecord<>(topic, partition, ts, "key-" + i, "value-" + i));
            }
            p.flush();
        }
    }

    /** Reads every record of the partitions from the beginning until expected records came or timeout. */
    static List<ConsumerRecord<String, String>> readAll(Collection<TopicPartition> tps, int expected, Duration timeout) {
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = consumer(null)) {
            c.assign(tps);
            c.seekToBeginning(tps);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    /** A condition that may throw while the cluster catches up; a throw counts as "not yet". */
    interface Check {
        boolean ok() throws Exception;
    }

    /** A read that may throw, or return what fails want, while the cluster catches up. */
    interface Read<T> {
        T get() throws Exception;
    }

    /**
     * The first result of read that want accepts. Admin sends each request to
     * a broker of its choosing, and a broker applies a metadata change a few
     * milliseconds after the one that answered the change (as Kafka's brokers
     * do), so a read right after a write may see the state before it.
     */
    static <T> T eventuallyGet(String what, Duration within, Read<T> read, java.util.function.Predicate<T> want) throws InterruptedException {
        List<T> got = new ArrayList<>(1);
        eventually(what, within, () -> {
            T v = read.get();
            if (!want.test(v)) return false;
            got.add(v);
            return true;
        });
        return got.get(0);
    }

    static void eventually(String what, Duration within, Check cond) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        Exception last = null;
        while (true) {
            try {
                if (cond.ok()) return;
            } catch (Exception e) {
                last = e;
            }
            if (System.nanoTime() > deadline) throw new AssertionError(what + ": not within " + within, last);
            Thread.sleep(50);
        }
    }
}
