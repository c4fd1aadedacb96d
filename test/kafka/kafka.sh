#!/usr/bin/env bash
# kafka.sh runs Apache Kafka as the reference gokafka is tested against.
#
#   kafka.sh fetch                 put Kafka's broker and tool jars in the cache (Maven, once)
#   kafka.sh classpath             fetch, then print the java classpath
#   kafka.sh start DIR N [PORT..]  start N KRaft nodes (broker+controller each) under DIR;
#                                  2N ports (N client, then N controller) or free ones;
#                                  prints the bootstrap servers once every node listens
#   kafka.sh stop DIR              stop what start started under DIR
#   kafka.sh tool CLASS ARGS..     run one of Kafka's tools, e.g. org.apache.kafka.tools.TopicCommand
#   kafka.sh version               print the version of Kafka it runs
#
# The jars come from Maven Central through pom.xml beside this script, into
# ${GOKAFKA_KAFKA_CACHE:-~/.cache/gokafka-test}/kafka-<version>/libs, never
# into the repository. JAVA names the java to run (17 or newer; default: java).
# KAFKA_PROPS holds extra server.properties lines for start (a key given
# there wins over the default above it); KAFKA_SCRAM one --add-scram value
# for the storage format, e.g. SCRAM-SHA-256=[name=admin,password=secret],
# the credential a SASL/SCRAM inter-broker listener needs; KAFKA_HEAP each
# node's heap (-Xmx and -Xms, default 512m). start writes each node's pid and
# the wall-clock nanoseconds at its exec into DIR/node-I/pid and .../started.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
cache=${GOKAFKA_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gokafka-test}/kafka-$version
libs=$cache/libs
java=${JAVA:-java}

die() { echo "kafka.sh: $*" >&2; exit 1; }

# fetch copies the jars once; a lock keeps test processes that start
# together from downloading into each other's directory.
fetch() {
	mkdir -p "$cache"
	exec 9>"$cache/.lock"
	flock 9
	if [ ! -f "$cache/.complete" ]; then
		rm -rf "$libs.tmp"
		mvn -q -B -Dstyle.color=never -f "$here/pom.xml" dependency:copy-dependencies \
			-DincludeScope=runtime -DoutputDirectory="$libs.tmp" >&2 ||
			die "mvn could not fetch Kafka $version (is Maven Central reachable?)"
		rm -rf "$libs"
		mv "$libs.tmp" "$libs"
		touch "$cache/.complete"
	fi
	exec 9>&-
}

# Tools start often and run briefly: the client compiler and serial GC
# start a JVM in about half the time, and the heap stays small.
tool_jvm=(-Xmx512m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
	-Dlog4j2.configurationFile="$here/log4j2.properties")

# The broker runs with the JVM options of Kafka's kafka-run-class.sh (its
# KAFKA_JVM_PERFORMANCE_OPTS), so that the bench measures Kafka as shipped;
# only the heap is smaller than kafka-server-start.sh's 1 GiB.
heap=${KAFKA_HEAP:-512m}
server_jvm=(-Xmx"$heap" -Xms"$heap" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20
	-XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true)

free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 10000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port"
}

start() {
	[ $# -ge 2 ] || die "usage: kafka.sh start DIR N [PORT...]"
	local dir=$1 n=$2
	shift 2
	local ports=("$@")
	if [ ${#ports[@]} -eq 0 ]; then
		for _ in $(seq $((2 * n))); do ports+=("$(free_port)"); done
	fi
	[ ${#ports[@]} -eq $((2 * n)) ] || die "start $n nodes needs $((2 * n)) ports, got ${#ports[@]}"
	fetch
	mkdir -p "$dir"
	local rf=$((n < 3 ? n : 3)) voters="" bootstrap="" i
	for i in $(seq "$n"); do
		voters+="${voters:+,}$i@127.0.0.1:${ports[n + i - 1]}"
		bootstrap+="${bootstrap:+,}127.0.0.1:${ports[i - 1]}"
	done
	# A cluster id is 16 random bytes in URL-safe base64 without padding,
	# never starting with "-" (Kafka's Uuid.randomUuid draws again too):
	# the storage tool would read such an id as an option and fail.
	local id=-
	while [[ $id == -* ]]; do
		id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
	done
	for i in $(seq "$n"); do
		local nd=$dir/node-$i
		mkdir -p "$nd"
		cat >"$nd/server.properties" <<-PROPS
			process.roles=broker,controller
			node.id=$i
			controller.quorum.voters=$voters
			listeners=PLAINTEXT://127.0.0.1:${ports[i - 1]},CONTROLLER://127.0.0.1:${ports[n + i - 1]}
			advertised.listeners=PLAINTEXT://127.0.0.1:${ports[i - 1]}
			controller.listener.names=CONTROLLER
			inter.broker.listener.name=PLAINTEXT
			listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
			log.dirs=$nd/data
			offsets.topic.replication.factor=$rf
			transaction.state.log.replication.factor=$rf
			transaction.state.log.min.isr=1
			share.coordinator.state.topic.replication.factor=$rf
			share.coordinator.state.topic.min.isr=1
			group.initial.rebalance.delay.ms=0
			${KAFKA_PROPS:-}
		PROPS
		"$java" "${tool_jvm[@]}" -cp "$libs/*" kafka.tools.StorageTool format \
			-t "$id" -c "$nd/server.properties" ${KAFKA_SCRAM:+--add-scram "$KAFKA_SCRAM"} >"$nd/format.log" 2>&1 ||
			die "formatting node $i: $(cat "$nd/format.log")"
		date +%s%N >"$nd/started"
		nohup "$java" "${server_jvm[@]}" -Dkafka.log.level=INFO \
			-Dlog4j2.configurationFile="$here/log4j2.properties" \
			-cp "$libs/*" kafka.Kafka "$nd/server.properties" >"$nd/server.log" 2>&1 &
		echo $! >"$nd/pid"
	done
	echo "$bootstrap" >"$dir/bootstrap"
	# Kafka starts in 5-10 s on an idle machine; a loaded one takes longer.
	local deadline=$((SECONDS + 180))
	for i in $(seq "$n"); do
		until (exec 3<>"/dev/tcp/127.0.0.1/${ports[i - 1]}") 2>/dev/null; do
			kill -0 "$(cat "$dir/node-$i/pid")" 2>/dev/null ||
				die "node $i exited: $(tail -20 "$dir/node-$i/server.log")"
			[ $SECONDS -lt $deadline ] || die "node $i does not listen after 180 s"
			sleep 0.1
		done
	done
	echo "$bootstrap"
}

# tool runs a tool class. The first run records the classes it loads in
# a shared archive (CDS) that later runs map instead of loading them: a
# third less CPU per start. -Xlog:disable keeps the JVM from printing CDS
# warnings (an archive from another JDK is ignored) on the tool's stdout.
tool() {
	[ $# -ge 1 ] || die "usage: kafka.sh tool CLASS ARGS..."
	fetch
	local jsa=$cache/tools.jsa cds rc=0
	if [ -f "$jsa" ]; then
		cds=-XX:SharedArchiveFile=$jsa
	else
		cds=-XX:ArchiveClassesAtExit=$jsa.$$
	fi
	"$java" "${tool_jvm[@]}" -Xlog:disable "$cds" -cp "$libs/*" "$@" || rc=$?
	if [ -f "$jsa.$$" ]; then
		mv "$jsa.$$" "$jsa"
	fi
	return $rc
}

stop() {
	[ $# -eq 1 ] || die "usage: kafka.sh stop DIR"
	local pidf pid
	for pidf in "$1"/node-*/pid; do
		[ -f "$pidf" ] || continue
		pid=$(cat "$pidf")
		kill "$pid" 2>/dev/null || true
	done
	for pidf in "$1"/node-*/pid; do
		[ -f "$pidf" ] || continue
		pid=$(cat "$pidf")
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
		rm -f "$pidf"
	done
}

case ${1:-} in
fetch) fetch ;;
classpath) fetch && echo "$libs/*" ;;
start) shift && start "$@" ;;
stop) shift && stop "$@" ;;
tool) shift && tool "$@" ;;
version) echo "$version" ;;
*) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
