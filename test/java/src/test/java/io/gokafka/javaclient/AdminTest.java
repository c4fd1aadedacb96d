package io.gokafka.javaclient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.NewPartitionReassignment;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.QuorumInfo;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.junit.jupiter.api.Test;

/** Admin (AdminClient) against a 3-node gokafka. */
class AdminTest extends WithAdmin {
    static TopicDescription describe(String topic) throws Exception {
        return admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
    }

    @Test
    void createDescribeDeleteTopics() throws Exception {
        Gokafka.createTopic(admin, "admin-topic", 3, 3, Map.of("retention.ms", "3600000"));
        TopicDescription d = Gokafka.eventuallyGet("admin-topic described", Duration.ofSeconds(15),
                () -> describe("admin-topic"), t -> t.partitions().size() == 3);
        assertEquals(3, d.partitions().size());
        for (TopicPartitionInfo p : d.partitions()) {
            assertEquals(3, p.replicas().size(), "replicas of " + p);
            assertEquals(3, p.isr().size(), "isr of " + p);
            assertTrue(p.replicas().contains(p.leader()));
        }
        Gokafka.eventually("admin-topic listed", Duration.ofSeconds(15), () -> admin.listTopics().names().get().contains("admin-topic"));
        ExecutionException dup = assertThrows(ExecutionException.class,
                () -> admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic("admin-topic", 1, (short) 3))).all().get());
        assertInstanceOf(TopicExistsException.class, dup.getCause());

        // Deleting by topic id (DeleteTopics v6+) deletes the topic the id names.
        org.apache.kafka.common.Uuid id = d.topicId();
        assertFalse(id == null || id.equals(org.apache.kafka.common.Uuid.ZERO_UUID), "topic id " + id);
        admin.deleteTopics(org.apache.kafka.common.TopicCollection.ofTopicIds(List.of(id))).all().get();
        Gokafka.eventually("topic gone", Duration.ofSeconds(15), () -> {
            return !admin.listTopics().names().get().contains("admin-topic");
        });
        Gokafka.eventually("describe answers UNKNOWN_TOPIC_OR_PARTITION", Duration.ofSeconds(15), () -> {
            try {
                describe("admin-topic");
                return false;
            } catch (ExecutionException gone) {
                return gone.getCause() instanceof UnknownTopicOrPartitionException;
            }
        });
    }

    /** Kafka answers CreateTopics v5+ with the new topic's configs, defaults included. */
    @Test
    void createTopicWithoutConfigs() throws Exception {
        var r = admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic("no-configs", 1, (short) 3)));
        r.all().get();
        Config cfg = r.config("no-configs").get();
        assertEquals("delete", cfg.get("cleanup.policy").value());
        assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG, cfg.get("cleanup.policy").source());
        assertEquals(3, r.replicationFactor("no-configs").get());
    }

    /** Metadata v12+ looks a topic up by id when the request names none (Admin.describeTopics by TopicCollection.ofTopicIds). */
    @Test
    void describeTopicById() throws Exception {
        Gokafka.createTopic(admin, "by-id", 2, 3, null);
        org.apache.kafka.common.Uuid id = Gokafka.eventuallyGet("by-id described", Duration.ofSeconds(15),
                () -> describe("by-id").topicId(), u -> true);
        TopicDescription byId = Gokafka.eventuallyGet("by-id described by id", Duration.ofSeconds(15),
                () -> admin.describeTopics(org.apache.kafka.common.TopicCollection.ofTopicIds(List.of(id))).allTopicIds().get().get(id),
                t -> true);
        assertEquals("by-id", byId.name());
        assertEquals(2, byId.partitions().size());
    }

    @Test
    void createPartitions() throws Exception {
        Gokafka.createTopic(admin, "growing", 2, 3, null);
        admin.createPartitions(Map.of("growing", NewPartitions.increaseTo(5))).all().get();
        Gokafka.eventually("5 partitions with leaders", Duration.ofSeconds(15), () -> {
            TopicDescription d = describe("growing");
            return d.partitions().size() == 5 && d.partitions().stream().allMatch(p -> p.leader() != null);
        });
        ExecutionException shrink = assertThrows(ExecutionException.class,
                () -> admin.createPartitions(Map.of("growing", NewPartitions.increaseTo(3))).all().get());
        assertInstanceOf(InvalidPartitionsException.class, shrink.getCause());
    }

    @Test
    void describeAndIncrementalAlterConfigs() throws Exception {
        Gokafka.createTopic(admin, "configured", 1, 3, null);
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, "configured");
        admin.incrementalAlterConfigs(Map.of(res, List.of(
                new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET),
                new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.APPEND)))).all().get();
        Config cfg = Gokafka.eventuallyGet("retention.ms set", Duration.ofSeconds(15),
                () -> admin.describeConfigs(List.of(res)).all().get().get(res), c -> "7200000".equals(c.get("retention.ms").value()));
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, cfg.get("retention.ms").source());
        assertEquals(Set.of("delete", "compact"), Set.of(cfg.get("cleanup.policy").value().split(",")));

        admin.incrementalAlterConfigs(Map.of(res, List.of(
                new AlterConfigOp(new ConfigEntry("retention.ms", ""), AlterConfigOp.OpType.DELETE)))).all().get();
        cfg = Gokafka.eventuallyGet("retention.ms back to the default", Duration.ofSeconds(15),
                () -> admin.describeConfigs(List.of(res)).all().get().get(res), c -> "604800000".equals(c.get("retention.ms").value()));
        assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG, cfg.get("retention.ms").source());

        ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, "1");
        Config bc = admin.describeConfigs(List.of(broker)).all().get().get(broker);
        assertNotNull(bc.get("log.retention.hours"), "broker config log.retention.hours");
    }

    @Test
    void describeCluster() throws Exception {
        DescribeClusterResult r = admin.describeCluster();
        Collection<Node> nodes = r.nodes().get();
        assertEquals(Set.of(1, 2, 3), nodes.stream().map(Node::id).collect(Collectors.toSet()));
        Set<String> addrs = nodes.stream().map(n -> n.host() + ":" + n.port()).collect(Collectors.toSet());
        assertEquals(Set.of(Gokafka.bootstrap().split(",")), addrs, "advertised listeners");
        assertTrue(Set.of(1, 2, 3).contains(r.controller().get().id()), "controller " + r.controller().get());
        assertNotNull(r.clusterId().get());
        assertFalse(r.clusterId().get().isEmpty());
    }

    @Test
    void listOffsetsAndDeleteRecords() throws Exception {
        String topic = "offsets";
        long t0 = System.currentTimeMillis() - 3_600_000;
        TopicPartition tp = Gokafka.filledPartition(admin, topic, 3, 10, t0); // timestamps t0, t0+1s, ..., t0+9s
        assertEquals(0, offset(tp, OffsetSpec.earliest()));
        assertEquals(10, offset(tp, OffsetSpec.latest()));
        assertEquals(4, offset(tp, OffsetSpec.forTimestamp(t0 + 3500)));
        ListOffsetsResult.ListOffsetsResultInfo max = admin.listOffsets(Map.of(tp, OffsetSpec.maxTimestamp())).partitionResult(tp).get();
        assertEquals(9, max.offset(), "offset of the max timestamp");
        assertEquals(t0 + 9000, max.timestamp());

        long low = admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(6))).lowWatermarks().get(tp).get().lowWatermark();
        assertEquals(6, low);
        assertEquals(6, offset(tp, OffsetSpec.earliest()), "earliest after deleteRecords");
        ExecutionException past = assertThrows(ExecutionException.class,
                () -> admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(11))).lowWatermarks().get(tp).get());
        assertInstanceOf(org.apache.kafka.common.errors.OffsetOutOfRangeException.class, past.getCause(), "delete past the high watermark");
    }

    static long offset(TopicPartition tp, OffsetSpec spec) throws Exception {
        return admin.listOffsets(Map.of(tp, spec)).partitionResult(tp).get().offset();
    }

    @Test
    void describeLogDirs() throws Exception {
        String topic = "logdirs";
        TopicPartition tp = Gokafka.filledPartition(admin, topic, 3, 100, 0);
        Map<Integer, Map<String, LogDirDescription>> all = admin.describeLogDirs(List.of(1, 2, 3)).allDescriptions().get();
        assertEquals(Set.of(1, 2, 3), all.keySet());
        for (var e : all.entrySet()) {
            assertEquals(1, e.getValue().size(), "log dirs of broker " + e.getKey());
            LogDirDescription d = e.getValue().values().iterator().next();
            assertTrue(d.error() == null, "log dir error " + d.error());
            Gokafka.eventually("replica of " + tp + " on broker " + e.getKey() + " has bytes", Duration.ofSeconds(10), () -> {
                var info = admin.describeLogDirs(List.of(e.getKey())).allDescriptions().get().get(e.getKey())
                        .values().iterator().next().replicaInfos().get(tp);
                return info != null && info.size() > 0;
            });
            assertTrue(d.totalBytes().isPresent() && d.usableBytes().isPresent(), "total and usable bytes");
        }
    }

    /**
     * A partition whose preferred replica does not lead: the replicas are
     * reordered by a reassignment (same set, no data to move, the leader
     * stays), then a preferred election moves leadership to the new first
     * replica. A second election finds nothing to do: ELECTION_NOT_NEEDED.
     */
    @Test
    void electPreferredLeaders() throws Exception {
        String topic = "elect";
        TopicPartition tp = Gokafka.filledPartition(admin, topic, 3, 20, 0);
        TopicPartitionInfo p = describe(topic).partitions().get(0);
        int leader = p.leader().id();
        List<Integer> reordered = new java.util.ArrayList<>(p.replicas().stream().map(Node::id).filter(id -> id != leader).toList());
        reordered.add(leader);
        admin.alterPartitionReassignments(Map.of(tp, Optional.of(new NewPartitionReassignment(reordered)))).all().get();
        Gokafka.eventually("replicas reordered to " + reordered, Duration.ofSeconds(20),
                () -> describe(topic).partitions().get(0).replicas().stream().map(Node::id).toList().equals(reordered)
                        && admin.listPartitionReassignments().reassignments().get().isEmpty());
        Gokafka.eventually("all replicas in sync", Duration.ofSeconds(20), () -> describe(topic).partitions().get(0).isr().size() == 3);

        Map<TopicPartition, Optional<Throwable>> r = admin.electLeaders(ElectionType.PREFERRED, Set.of(tp)).partitions().get();
        assertEquals(Optional.empty(), r.get(tp), "preferred election of " + tp);
        Gokafka.eventually("preferred replica " + reordered.get(0) + " leads", Duration.ofSeconds(20),
                () -> describe(topic).partitions().get(0).leader().id() == reordered.get(0));

        r = admin.electLeaders(ElectionType.PREFERRED, Set.of(tp)).partitions().get();
        assertTrue(r.get(tp).isPresent(), "a second election has nothing to do");
        assertInstanceOf(org.apache.kafka.common.errors.ElectionNotNeededException.class, r.get(tp).get());
        assertEquals(20, Gokafka.readAll(List.of(tp), 20, Duration.ofSeconds(15)).size(), "records under the new leader");
    }

    @Test
    void partitionReassignments() throws Exception {
        String topic = "moving";
        TopicPartition tp = Gokafka.filledPartition(admin, topic, 2, 50, 0);
        List<Integer> before = describe(topic).partitions().get(0).replicas().stream().map(Node::id).toList();
        int missing = Set.of(1, 2, 3).stream().filter(id -> !before.contains(id)).findFirst().orElseThrow();
        List<Integer> target = List.of(missing, before.get(0));
        admin.alterPartitionReassignments(Map.of(tp, Optional.of(new NewPartitionReassignment(target)))).all().get();
        Gokafka.eventually("reassignment of " + tp + " to " + target, Duration.ofSeconds(30), () -> {
            TopicPartitionInfo p = describe(topic).partitions().get(0);
            return admin.listPartitionReassignments().reassignments().get().isEmpty()
                    && p.replicas().stream().map(Node::id).toList().equals(target)
                    && p.isr().size() == 2;
        });
        List<org.apache.kafka.clients.consumer.ConsumerRecord<String, String>> got = Gokafka.readAll(List.of(tp), 50, Duration.ofSeconds(15));
        assertEquals(50, got.size(), "records after the move");
    }

    @Test
    void describeProducers() throws Exception {
        String topic = "producers";
        TopicPartition tp = Gokafka.filledPartition(admin, topic, 3, 5, 0);
        var active = admin.describeProducers(List.of(tp)).partitionResult(tp).get().activeProducers();
        assertEquals(1, active.size(), "producers " + active);
        assertEquals(4, active.get(0).lastSequence());
        assertTrue(active.get(0).producerId() >= 0);
    }

    @Test
    void describeMetadataQuorum() throws Exception {
        QuorumInfo q = admin.describeMetadataQuorum().quorumInfo().get();
        Set<Integer> voters = q.voters().stream().map(QuorumInfo.ReplicaState::replicaId).collect(Collectors.toSet());
        assertEquals(Set.of(1, 2, 3), voters);
        assertTrue(voters.contains(q.leaderId()), "leader " + q.leaderId());
        assertTrue(q.leaderEpoch() > 0);
        assertTrue(q.highWatermark() > 0);
    }

    @Test
    void consumerGroupAdmin() throws Exception {
        String topic = "grouped", group = "admin-group";
        Gokafka.createTopic(admin, topic, 2, 3, null);
        Gokafka.produce(topic, 0, 10, 0);
        TopicPartition p0 = new TopicPartition(topic, 0), p1 = new TopicPartition(topic, 1);
        try (var c = Gokafka.consumer(group)) {
            c.subscribe(List.of(topic));
            ConsumerTest.pollUntil(List.of(c), () -> c.assignment().size() == 2, "assignment");
            c.commitSync(Map.of(p0, new OffsetAndMetadata(3)));
            ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
            assertEquals(GroupState.STABLE, d.groupState());
            assertEquals(1, d.members().size());
            assertEquals(Set.of(p0, p1), d.members().iterator().next().assignment().topicPartitions());
            assertEquals(org.apache.kafka.common.GroupType.CLASSIC, d.type());
        }
        @SuppressWarnings("deprecation")
        Collection<ConsumerGroupListing> listed = admin.listConsumerGroups().all().get();
        assertTrue(listed.stream().anyMatch(l -> l.groupId().equals(group)), "listed groups " + listed);
        ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
        assertEquals(GroupState.EMPTY, d.groupState(), "after the member left");
        @SuppressWarnings("deprecation")
        Collection<ConsumerGroupListing> empty = admin.listConsumerGroups(
                new org.apache.kafka.clients.admin.ListConsumerGroupsOptions().inGroupStates(Set.of(GroupState.EMPTY))).all().get();
        assertTrue(empty.stream().anyMatch(l -> l.groupId().equals(group) && l.groupState().equals(Optional.of(GroupState.EMPTY))),
                "groups listed in state EMPTY: " + empty);
        @SuppressWarnings("deprecation")
        Collection<ConsumerGroupListing> stable = admin.listConsumerGroups(
                new org.apache.kafka.clients.admin.ListConsumerGroupsOptions().inGroupStates(Set.of(GroupState.STABLE))).all().get();
        assertTrue(stable.stream().noneMatch(l -> l.groupId().equals(group)), "an empty group listed as STABLE: " + stable);
        assertEquals(Map.of(p0, new OffsetAndMetadata(3)), admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get());

        admin.alterConsumerGroupOffsets(group, Map.of(p0, new OffsetAndMetadata(8), p1, new OffsetAndMetadata(0))).all().get();
        Map<TopicPartition, OffsetAndMetadata> got = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        assertEquals(8, got.get(p0).offset());
        assertEquals(0, got.get(p1).offset());

        admin.deleteConsumerGroups(List.of(group)).all().get();
        @SuppressWarnings("deprecation")
        Set<String> after = admin.listConsumerGroups().all().get().stream().map(ConsumerGroupListing::groupId).collect(Collectors.toCollection(HashSet::new));
        assertFalse(after.contains(group), "group listed after deleteConsumerGroups");
    }
}
