package io.gokafka.javaclient;

import java.time.Duration;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * A group member in its own JVM, for ConsumerKillTest to SIGKILL: it joins
 * args[1] on topic args[0], prints "ASSIGNED n" whenever its assignment
 * changes, and polls until killed.
 */
public final class ConsumerProcess {
    private ConsumerProcess() {}

    public static void main(String[] args) {
        Properties p = Gokafka.consumerProps(args[1]);
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, Integer.parseInt(args[2]));
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500);
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            c.subscribe(List.of(args[0]));
            int last = -1;
            while (true) {
                c.poll(Duration.ofMillis(100));
                if (c.assignment().size() != last) {
                    last = c.assignment().size();
                    System.out.println("ASSIGNED " + last);
                    System.out.flush();
                }
            }
        }
    }
}
