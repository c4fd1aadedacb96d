package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gokafka/gokafka/broker"
	"github.com/gokafka/gokafka/config"
	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/properties"
)

// migrate-config turns one node's ZooKeeper-mode Kafka server.properties
// into a gokafka one (MIGRATING.md): what carries over is kept as written,
// what only ZooKeeper mode uses is dropped with a comment saying why, and
// what KRaft mode adds is written: node.id, process.roles, the voters, the
// controller listener and its security protocol.

// kafkaProtocolMap is Kafka's default listener.security.protocol.map.
const kafkaProtocolMap = "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"

// controllerName is the controller listener migrate-config adds.
const controllerName = "CONTROLLER"

// rewritten are the keys migrate-config writes itself.
var rewritten = []string{"node.id", "broker.id", "process.roles", "controller.quorum.voters", "controller.listener.names",
	"listeners", "advertised.listeners", "listener.security.protocol.map"}

func runMigrateConfig(args []string) int {
	fs := flag.NewFlagSet("gokafka-server migrate-config", flag.ContinueOnError)
	nodeID := fs.String("node-id", "", "this node's node.id in the new cluster")
	voters := fs.String("voters", "", "the new cluster's controller.quorum.voters: id@host:port of every controller")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: gokafka-server migrate-config --node-id N --voters 1@h1:9093,2@h2:9093,3@h3:9093 old-server.properties\n"+
			"Prints a gokafka server.properties made from a ZooKeeper-mode Kafka one.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	out, err := migrateFile(fs.Arg(0), *nodeID, *voters)
	if err == nil {
		fmt.Print(out)
		return 0
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(os.Stderr, "gokafka-server migrate-config:", line)
	}
	return 2
}

// migrateFile migrates the file at path (see migrateConfig).
func migrateFile(path, nodeID, voters string) (string, error) {
	p, err := properties.Load(path)
	if err != nil {
		return "", err // names the file and line
	}
	return migrateConfig(path, p, nodeID, voters)
}

// migration is one file being migrated.
type migration struct {
	file     string
	props    *properties.Properties
	nodeID   int32
	voters   []coordinator.Voter
	problems []error
}

// migrateConfig returns the gokafka server.properties for node nodeID of
// the cluster whose controllers are voters, made from p (read from file),
// or every problem found, one a line naming the file and line or the flag.
func migrateConfig(file string, p *properties.Properties, nodeID, voters string) (string, error) {
	m := &migration{file: file, props: p}
	id, err := strconv.ParseInt(strings.TrimSpace(nodeID), 10, 32)
	if err != nil || id < 0 {
		m.problems = append(m.problems, fmt.Errorf("--node-id %s: must be a number from 0 to %d", shown(nodeID), maxInt32))
	}
	m.nodeID = int32(id)
	if m.voters, err = voterList(voters); err != nil {
		m.problems = append(m.problems, fmt.Errorf("--voters %s: %w", shown(voters), err))
	}
	var out strings.Builder
	if len(m.problems) == 0 {
		m.header(&out)
	}
	m.rest(&out)
	if len(m.problems) > 0 {
		return "", errors.Join(m.problems...)
	}
	return out.String(), nil
}

// bad records a problem with the old file's entry e.
func (m *migration) bad(e properties.Entry, format string, args ...any) {
	m.problems = append(m.problems, fmt.Errorf("%s:%d: %s=%s: %s", m.file, e.Line, e.Key, shownFor(e.Key, e.Value), fmt.Sprintf(format, args...)))
}

// header writes what KRaft mode adds: identity, roles, the quorum and the
// listeners with the controller's among them.
func (m *migration) header(out *strings.Builder) {
	roles, port := "broker", 9093
	if i := slices.IndexFunc(m.voters, func(v coordinator.Voter) bool { return v.ID == m.nodeID }); i >= 0 {
		roles = "broker,controller"
		_, p, _ := net.SplitHostPort(m.voters[i].Addr) // voterList wrote it
		port, _ = strconv.Atoi(p)
	}
	listeners, ok := m.listeners("listeners", "PLAINTEXT://:9092", port)
	if !ok {
		return
	}
	advertised, ok := m.listeners("advertised.listeners", "", port)
	if !ok {
		return
	}
	ctrl := fmt.Sprintf("%s://:%d", controllerName, port)
	listenersLine := strings.TrimSpace(m.value("listeners", "PLAINTEXT://:9092")) + "," + ctrl
	advertisedLine := strings.TrimSpace(m.value("advertised.listeners", ""))
	if roles == "broker" {
		// A non-voter tells the controllers where to reach its Raft log.
		host := firstHost(advertised, listeners)
		if host == "" {
			e, _ := m.props.Entry("listeners")
			m.bad(e, "node %d is not in --voters, so it runs as a broker only, which advertises its controller listener: give this listener a host name, or set advertised.listeners", m.nodeID)
			return
		}
		advertisedLine = strings.TrimPrefix(advertisedLine+","+controllerName+"://"+net.JoinHostPort(host, strconv.Itoa(port)), ",")
	}
	fmt.Fprintf(out, "# gokafka server.properties for node.id %d, written by gokafka-server migrate-config\n", m.nodeID)
	fmt.Fprintf(out, "# from the ZooKeeper-mode Kafka file %s.\n\n", m.file)
	out.WriteString("# gokafka's Raft coordinator replaces ZooKeeper: this node's id and roles,\n" +
		"# the controllers of the metadata quorum, and the listener they use.\n")
	for _, kv := range [][2]string{
		{"node.id", strconv.Itoa(int(m.nodeID))},
		{"process.roles", roles},
		{"controller.quorum.voters", voterLine(m.voters)},
		{"controller.listener.names", controllerName},
		{"listeners", listenersLine},
		{"advertised.listeners", advertisedLine},
		{"listener.security.protocol.map", m.protocolMap()},
	} {
		if kv[1] != "" {
			out.WriteString(properties.Line(kv[0], kv[1]) + "\n")
		}
	}
	out.WriteString("# The controller listener is PLAINTEXT, as in Kafka's KRaft examples; keep its\n" +
		"# port off client networks, or seal it (SSL with ssl.client.auth=required, or\n" +
		"# SASL_PLAINTEXT/SASL_SSL with PLAIN) as README.md's security section shows.\n")
}

// listeners reads the old listeners (or advertised listeners) and checks
// that the controller listener can join them.
func (m *migration) listeners(key, def string, ctrlPort int) ([]broker.Listener, bool) {
	e, ok := m.props.Entry(key)
	if !ok {
		if def == "" {
			return nil, true
		}
		e.Value = def
	}
	ls, err := parseListeners(e.Value)
	switch {
	case err != nil:
		m.bad(e, "%v", err)
		return nil, false
	case slices.ContainsFunc(ls, func(l broker.Listener) bool { return l.Name == controllerName }):
		m.bad(e, "the listener name %s is taken by the controller listener gokafka adds; rename this one", controllerName)
		return nil, false
	case key == "listeners" && slices.ContainsFunc(ls, func(l broker.Listener) bool { return l.Port == ctrlPort }):
		m.bad(e, "port %d is node %d's controller port in --voters; give the controller listener another port there", ctrlPort, m.nodeID)
		return nil, false
	}
	return ls, true
}

// firstHost is the first host name a peer can dial.
func firstHost(lists ...[]broker.Listener) string {
	for _, ls := range lists {
		for _, l := range ls {
			if l.Host != "" && !wildcard(l.Host) {
				return l.Host
			}
		}
	}
	return ""
}

// value is the old value of key, or def.
func (m *migration) value(key, def string) string {
	if e, ok := m.props.Entry(key); ok {
		return e.Value
	}
	return def
}

// protocolMap is the old map (or Kafka's default) with the controller
// listener added: Kafka's stock map lacks it.
func (m *migration) protocolMap() string {
	v := strings.TrimSpace(m.value("listener.security.protocol.map", kafkaProtocolMap))
	for _, item := range splitList(v) {
		if name, _, _ := strings.Cut(item, ":"); strings.EqualFold(strings.TrimSpace(name), controllerName) {
			return v
		}
	}
	return strings.TrimPrefix(v+","+controllerName+":PLAINTEXT", ",")
}

func voterLine(voters []coordinator.Voter) string {
	items := make([]string, len(voters))
	for i, v := range voters {
		items[i] = fmt.Sprintf("%d@%s", v.ID, v.Addr)
	}
	return strings.Join(items, ",")
}

// rest writes the old file's other keys in its order: kept when gokafka
// reads them (their values checked), dropped with the reason when only
// ZooKeeper mode used them, commented out when gokafka does not know them.
func (m *migration) rest(out *strings.Builder) {
	var kept, dropped, unknown []string
	for _, k := range m.props.Keys() {
		e, _ := m.props.Entry(k)
		line := properties.Line(k, e.Value)
		switch why, retired := config.Retired(k); {
		case k == "broker.id":
			dropped = append(dropped, fmt.Sprintf("#   line %d: node.id=%d replaces it\n# %s", e.Line, m.nodeID, line))
		case k == zookeeperConnect || retired:
			if k == zookeeperConnect {
				why = "gokafka's embedded Raft coordinator replaces ZooKeeper"
			}
			dropped = append(dropped, fmt.Sprintf("#   line %d: %s\n# %s", e.Line, why, line))
		case slices.Contains(rewritten, k):
		case config.BrokerKey(k) != nil:
			if err := config.BrokerKey(k).Check(e.Value); err != nil {
				m.bad(e, "%v", err)
			}
			kept = append(kept, line)
		case knownListenerKey(k):
			kept = append(kept, line)
		default:
			unknown = append(unknown, fmt.Sprintf("#   line %d\n# %s", e.Line, line))
		}
	}
	for _, section := range []struct {
		title string
		lines []string
	}{
		{"Carried over from " + m.file + ".", kept},
		{"Dropped from " + m.file + ": gokafka does not use these.", dropped},
		{"Not known to gokafka, so left out (as written in " + m.file + "):", unknown},
	} {
		if len(section.lines) > 0 {
			fmt.Fprintf(out, "\n# %s\n%s\n", section.title, strings.Join(section.lines, "\n"))
		}
	}
}
