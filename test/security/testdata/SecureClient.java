// SecureClient is the Java client's part of gokafka's security tests, run
// as a single source file against kafka-clients:
//
//   java -cp <kafka libs>/* SecureClient.java <bootstrap> <client.properties> <topic> <n>
//
// It produces n records "k<i>"/"v<i>" with acks=all, each acknowledged,
// to partition 0 of topic, then reads partition 0 from the start and
// prints the first n records as "key:value" lines.
import java.io.FileReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class SecureClient {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        try (FileReader r = new FileReader(args[1])) {
            props.load(r);
        }
        props.put("bootstrap.servers", args[0]);
        String topic = args[2];
        int n = Integer.parseInt(args[3]);

        Properties pp = (Properties) props.clone();
        pp.put("acks", "all");
        try (KafkaProducer<String, String> p = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                acks.add(p.send(new ProducerRecord<>(topic, 0, "k" + i, "v" + i)));
            }
            for (Future<RecordMetadata> f : acks) {
                f.get();
            }
        }

        TopicPartition tp = new TopicPartition(topic, 0);
        StringBuilder out = new StringBuilder();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long deadline = System.currentTimeMillis() + 30_000;
            int read = 0;
            while (read < n && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> rec : c.poll(Duration.ofMillis(500))) {
                    if (read++ < n) {
                        out.append(rec.key()).append(':').append(rec.value()).append('\n');
                    }
                }
            }
        }
        System.out.print(out);
    }
}
