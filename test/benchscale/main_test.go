package main

import "testing"

// count reads the nodes' log lines as the figures need: a line each, N
// for a line carrying refused=N, and none for the killed broker's fencing.
func TestCount(t *testing.T) {
	log := `time=1 level=WARN msg="ISR change refused" node=1 refused=12 sent=40 err=x
time=2 level=WARN msg="ISR change refused" node=2 topic=t partition=0 err=y
time=3 level=WARN msg="fencing broker: no heartbeat within the session timeout" node=1 broker=2 silent=9s
time=4 level=WARN msg="fencing broker: no heartbeat within the session timeout" node=1 broker=3 silent=9s
time=5 level=WARN msg="fencing broker: no heartbeat within the session timeout" node=3 broker=2 silent=9.6s`
	for _, tc := range []struct {
		ev     string
		victim int
		want   int
	}{
		{"ISR changes refused", -1, 13},
		{"brokers fenced", -1, 3},
		{"brokers fenced", 2, 1},
		{"brokers fenced", 3, 2},
		{"failed heartbeats", -1, 0},
	} {
		if got := count(log, find(t, gokafkaEvents, tc.ev), tc.victim); got != tc.want {
			t.Errorf("gokafka: count(%q, victim %d) = %d, want %d", tc.ev, tc.victim, got, tc.want)
		}
	}
}

// The same events as Kafka 4.4 logs them (lines as its log4j pattern
// prints them, from the messages in its jars), and lines that look alike
// but are not the event.
func TestCountKafka(t *testing.T) {
	log := `[2026-11-29 23:40:01,001] INFO [QuorumController id=1] Fencing broker 3 at epoch 12 because its session has timed out. (org.apache.kafka.controller.ReplicationControlManager)
[2026-11-29 23:40:01,002] INFO [QuorumController id=1] Fencing broker 2 at epoch 7 because its session has timed out. (org.apache.kafka.controller.ReplicationControlManager)
[2026-11-29 23:40:01,003] INFO [QuorumController id=1] Fenced broker 3 has requested and been granted an immediate shutdown. (org.apache.kafka.controller.ReplicationControlManager)
[2026-11-29 23:40:02,000] WARN [BrokerLifecycleManager id=2] Unable to send a heartbeat because the RPC got timed out before it could be sent. (kafka.server.BrokerLifecycleManager)
[2026-11-29 23:40:02,001] WARN [BrokerLifecycleManager id=2] Broker 2 sent a heartbeat request but received error STALE_BROKER_EPOCH. (kafka.server.BrokerLifecycleManager)
[2026-11-29 23:40:02,002] INFO [BrokerLifecycleManager id=2] Unable to register the broker because the RPC got timed out before it could be sent. (kafka.server.BrokerLifecycleManager)
[2026-11-29 23:40:03,000] INFO [Partition scale-00001-0 broker=1] Failed to alter partition to PendingExpandIsr(newInSyncReplicaId=3, ...) since the controller rejected the request with INELIGIBLE_REPLICA. Partition state has been reset to the latest committed state CommittedPartitionState(isr=Set(1, 2), leaderRecoveryState=RECOVERED). (kafka.cluster.Partition)
[2026-11-29 23:40:03,001] WARN [Partition scale-00002-0 broker=1] Failed to update ISR to PendingShrinkIsr(...) due to unexpected NOT_CONTROLLER. Retrying. (kafka.cluster.Partition)
[2026-11-29 23:40:03,002] INFO [Partition scale-00003-0 broker=1] ISR updated to 1,2,3  and version updated to 4 (kafka.cluster.Partition)
[2026-11-29 23:40:04,000] INFO [RaftManager id=1] Did not receive fetch request from the majority of the voters within 3000ms. Current fetched voters are [], and voters are [...] (org.apache.kafka.raft.KafkaRaftClient)`
	for _, tc := range []struct {
		ev     string
		victim int
		want   int
	}{
		{"brokers fenced", -1, 2},
		{"brokers fenced", 3, 1},
		{"failed heartbeats", -1, 2},
		{"ISR changes refused", -1, 2},
		{"Raft leaders stepped down", -1, 1},
	} {
		if got := count(log, find(t, kafkaEvents, tc.ev), tc.victim); got != tc.want {
			t.Errorf("kafka: count(%q, victim %d) = %d, want %d", tc.ev, tc.victim, got, tc.want)
		}
	}
}

// Both systems count the same events, by the same names, in the same
// order, so that their reports compare line by line.
func TestEventsMatch(t *testing.T) {
	if len(kafkaEvents) != len(gokafkaEvents) {
		t.Fatalf("%d Kafka events, %d gokafka events", len(kafkaEvents), len(gokafkaEvents))
	}
	for i := range kafkaEvents {
		if kafkaEvents[i].name != gokafkaEvents[i].name {
			t.Errorf("event %d: Kafka %q, gokafka %q", i, kafkaEvents[i].name, gokafkaEvents[i].name)
		}
	}
}

func find(t *testing.T, evs []event, name string) event {
	t.Helper()
	for _, ev := range evs {
		if ev.name == name {
			return ev
		}
	}
	t.Fatalf("no event %q", name)
	return event{}
}
