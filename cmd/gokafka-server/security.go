package main

import (
	"net/netip"

	"crypto/tls"
	"errors"
	"fmt"
	"github.com/twmb/franz-go/pkg/kmsg"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/broker"
	"github.com/gokafka/gokafka/config"
	"github.com/gokafka/gokafka/coordinator"
)

// Security follows Kafka's keys: listener.security.protocol.map names each
// listener's protocol, and every ssl.*/sasl.* key may be given for one
// listener as listener.name.<listener>.<key> (lower-case listener name),
// winning over the unprefixed key. JAAS lines are per listener and
// mechanism: listener.name.<listener>.<mechanism>.sasl.jaas.config.

// mechanisms gokafka serves.
var mechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

// listenerKeys returns the effective ssl.*/sasl.* keys of one listener.
func (b *build) listenerKeys(listener string) auth.Keys {
	prefix := "listener.name." + strings.ToLower(listener) + "."
	return func(key string) (string, bool) {
		if e, ok := b.props.Entry(prefix + key); ok {
			return strings.TrimSpace(e.Value), true
		}
		if e, ok := b.props.Entry(key); ok {
			return strings.TrimSpace(e.Value), true
		}
		if k := config.BrokerKey(key); k != nil && !k.NoDefault {
			return k.Default, false
		}
		return "", false
	}
}

// keyOf is the key a listener's value came from, for error messages.
func (b *build) keyOf(listener, key string) string {
	prefixed := "listener.name." + strings.ToLower(listener) + "." + key
	if _, ok := b.props.Entry(prefixed); ok {
		return prefixed
	}
	return key
}

// listenerSecurity builds what a client listener needs to authenticate
// its clients.
func (b *build) listenerSecurity(l broker.Listener) (*broker.Security, error) {
	proto := b.protocols[l.Name]
	if proto == "" || proto == "PLAINTEXT" {
		return nil, nil
	}
	keys := b.listenerKeys(l.Name)
	sec := &broker.Security{Protocol: proto}
	if proto == "SSL" || proto == "SASL_SSL" {
		var err error
		if sec.TLS, err = b.newTLS("listener "+l.Name, keys, auth.Server); err != nil {
			return nil, err
		}
		rules, _ := keys("ssl.principal.mapping.rules")
		if sec.PrincipalRules, err = auth.ParsePrincipalRules(rules); err != nil {
			return nil, fmt.Errorf("%s: %s=%s: %w", b.file, b.keyOf(l.Name, "ssl.principal.mapping.rules"), rules, err)
		}
	}
	if proto == "SASL_PLAINTEXT" || proto == "SASL_SSL" {
		var err error
		if sec.Mechanisms, err = b.enabledMechanisms(l.Name); err != nil {
			return nil, err
		}
		if slices.Contains(sec.Mechanisms, "PLAIN") {
			jaas, err := b.jaas(l.Name, "PLAIN", "org.apache.kafka.common.security.plain.PlainLoginModule")
			if err != nil {
				return nil, err
			}
			sec.PlainUsers = jaas.PlainUsers()
		}
	}
	return sec, nil
}

// enabledMechanisms reads a SASL listener's sasl.enabled.mechanisms.
func (b *build) enabledMechanisms(listener string) ([]string, error) {
	v, _ := b.listenerKeys(listener)("sasl.enabled.mechanisms")
	key := b.keyOf(listener, "sasl.enabled.mechanisms")
	list := splitList(v)
	if len(list) == 0 {
		return nil, fmt.Errorf("%s: %s=%s: listener %s uses SASL but enables no mechanism", b.file, key, shown(v), listener)
	}
	for _, m := range list {
		if !slices.Contains(mechanisms, m) {
			return nil, fmt.Errorf("%s: %s=%s: gokafka serves no %s; use %s", b.file,
				key, shown(v), m, strings.Join(mechanisms, ", "))
		}
	}
	return list, nil
}

// jaas reads listener.name.<l>.<mechanism>.sasl.jaas.config and checks its
// login module.
func (b *build) jaas(listener, mechanism, module string) (auth.JAAS, error) {
	key := "listener.name." + strings.ToLower(listener) + "." + strings.ToLower(mechanism) + ".sasl.jaas.config"
	e, ok := b.props.Entry(key)
	if !ok {
		return auth.JAAS{}, fmt.Errorf("%s: %s is missing: listener %s enables %s and needs its login line, e.g. %s required username=\"admin\" password=\"…\";", b.file,
			key, listener, mechanism, module)
	}
	j, err := auth.ParseJAAS(e.Value)
	if err == nil && j.LoginModule != module {
		err = fmt.Errorf("the login module for %s is %s", mechanism, module)
	}
	if err != nil {
		return auth.JAAS{}, fmt.Errorf("%s:%d: %s: %w", b.file, e.Line, key, err) // never echo a password
	}
	return j, nil
}

// interBroker resolves inter.broker.listener.name (or
// security.inter.broker.protocol) and the credentials this broker presents
// to the others on that listener.
func (b *build) interBroker(client []broker.Listener) error {
	c := &b.cfg.Broker
	name, named := b.props.Entry("inter.broker.listener.name")
	proto, byProto := b.props.Entry("security.inter.broker.protocol")
	switch {
	case named && byProto:
		return fmt.Errorf("%s:%d: set inter.broker.listener.name or security.inter.broker.protocol, not both", b.file, proto.Line)
	case named:
		c.InterBrokerListener = strings.ToUpper(strings.TrimSpace(name.Value))
	case byProto:
		c.InterBrokerListener = strings.ToUpper(strings.TrimSpace(proto.Value))
	default:
		return nil // the first client listener, as before
	}
	i := slices.IndexFunc(client, func(l broker.Listener) bool { return l.Name == c.InterBrokerListener })
	if i < 0 {
		return b.badKey("listeners", fmt.Errorf("inter-broker listener %s is not one of this broker's client listeners", c.InterBrokerListener))
	}
	return b.peerSecurity(client[i])
}

// peerSecurity is the client side of the inter-broker listener: the same
// keystore and truststore (a broker presents its own certificate), and
// the username and password of its JAAS line for SASL.
func (b *build) peerSecurity(l broker.Listener) error {
	p := &b.cfg.Broker.Peer
	sec := l.Security
	if sec == nil {
		return nil
	}
	if sec.TLS != nil {
		var err error
		if p.TLS, err = b.newTLS("inter-broker listener "+l.Name, b.listenerKeys(l.Name), auth.Client); err != nil {
			return err
		}
	}
	if len(sec.Mechanisms) == 0 {
		return nil
	}
	e, _ := b.props.Entry("sasl.mechanism.inter.broker.protocol")
	mech := strings.TrimSpace(e.Value)
	if mech == "" {
		mech = config.BrokerKey("sasl.mechanism.inter.broker.protocol").Default
	}
	if !slices.Contains(sec.Mechanisms, mech) {
		return fmt.Errorf("%s: sasl.mechanism.inter.broker.protocol=%s: the inter-broker listener %s enables only %s", b.file,
			mech, l.Name, strings.Join(sec.Mechanisms, ", "))
	}
	module := "org.apache.kafka.common.security.scram.ScramLoginModule"
	if mech == "PLAIN" {
		module = "org.apache.kafka.common.security.plain.PlainLoginModule"
	}
	j, err := b.jaas(l.Name, mech, module)
	if err != nil {
		return err
	}
	user, pass := j.Options["username"], j.Options["password"]
	if user == "" || pass == "" {
		return fmt.Errorf("%s: listener.name.%s.%s.sasl.jaas.config: needs username and password, which this broker presents to the others", b.file,
			strings.ToLower(l.Name), strings.ToLower(mech))
	}
	p.SASL = clientMechanism(mech, user, pass)
	return nil
}

func clientMechanism(mech, user, pass string) sasl.Mechanism {
	switch mech {
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism()
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()
	}
	return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()
}

// controllerSecurity seals the controller listener: SSL with
// ssl.client.auth=required (mutual TLS between nodes), SASL_PLAINTEXT or
// SASL_SSL with PLAIN, or PLAINTEXT.
func (b *build) controllerSecurity(ctrl broker.Listener) error {
	proto := b.protocols[ctrl.Name]
	switch proto {
	case "", "PLAINTEXT":
		return nil
	case "SASL_PLAINTEXT", "SASL_SSL":
		return b.controllerSASL(ctrl, proto == "SASL_SSL")
	case "SSL":
	default:
		return b.badKey("listener.security.protocol.map", fmt.Errorf(
			"controller listener %s maps to %s: use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", ctrl.Name, proto))
	}
	keys := b.listenerKeys(ctrl.Name)
	if v, _ := keys("ssl.client.auth"); v != "required" {
		return fmt.Errorf("%s: %s=%s: the controller listener must require client certificates, or any host that reaches it could vote and register", b.file,
			b.keyOf(ctrl.Name, "ssl.client.auth"), shown(v))
	}
	c := &b.cfg.Coordinator
	rules, _ := keys("ssl.principal.mapping.rules")
	var err error
	if b.cfg.ControllerPrincipals, err = auth.ParsePrincipalRules(rules); err != nil {
		return fmt.Errorf("%s: %s=%s: %w", b.file, b.keyOf(ctrl.Name, "ssl.principal.mapping.rules"), rules, err)
	}
	if c.ServerTLS, err = b.newTLS("controller listener "+ctrl.Name, keys, auth.Server); err != nil {
		return err
	}
	c.ClientTLS, err = b.newTLS("controller listener "+ctrl.Name, keys, auth.Client)
	return err
}

// controllerSASL sets SASL/PLAIN on the controller listener, inside TLS
// for SASL_SSL (where client certificates are optional): the users of
// its PLAIN login line may connect, and this node presents the line's
// username and password to its peers, as Kafka's controllers do with
// sasl.mechanism.controller.protocol.
func (b *build) controllerSASL(ctrl broker.Listener, overTLS bool) error {
	e, ok := b.props.Entry("sasl.mechanism.controller.protocol")
	if !ok {
		e.Key, e.Value = "sasl.mechanism.controller.protocol", config.BrokerKey("sasl.mechanism.controller.protocol").Default
	}
	if err := controllerMechanism(strings.TrimSpace(e.Value)); err != nil {
		return b.badValue(e, err)
	}
	enabled, err := b.enabledMechanisms(ctrl.Name)
	if err != nil {
		return err
	}
	for _, m := range enabled {
		if err := controllerMechanism(m); err != nil {
			e, _ := b.props.Entry(b.keyOf(ctrl.Name, "sasl.enabled.mechanisms")) // a default would be GSSAPI, refused above
			return b.badValue(e, err)
		}
	}
	j, err := b.jaas(ctrl.Name, "PLAIN", "org.apache.kafka.common.security.plain.PlainLoginModule")
	if err != nil {
		return err
	}
	c := &b.cfg.Coordinator
	c.SASL = &coordinator.ControllerSASL{Users: j.PlainUsers(), Username: j.Options["username"], Password: j.Options["password"]}
	jaasKey := "listener.name." + strings.ToLower(ctrl.Name) + ".plain.sasl.jaas.config"
	switch {
	case len(c.SASL.Users) == 0:
		return fmt.Errorf("%s: %s: no user_<name>=\"…\" option, so no node could connect to the controller listener", b.file, jaasKey)
	case c.SASL.Username == "" || c.SASL.Password == "":
		return fmt.Errorf("%s: %s: needs username and password, which this node presents to the other controllers", b.file, jaasKey)
	}
	if !overTLS {
		return nil
	}
	keys := b.listenerKeys(ctrl.Name)
	if c.ServerTLS, err = b.newTLS("controller listener "+ctrl.Name, keys, auth.Server); err != nil {
		return err
	}
	c.ClientTLS, err = b.newTLS("controller listener "+ctrl.Name, keys, auth.Client)
	return err
}

// controllerMechanism says why a mechanism cannot serve the controller
// listener: only PLAIN can.
func controllerMechanism(mech string) error {
	switch {
	case mech == auth.MechanismPlain:
		return nil
	case strings.HasPrefix(mech, "SCRAM-"):
		return errors.New("SCRAM is not supported on the controller listener, as in Kafka: SCRAM credentials live in the metadata the controllers serve; use PLAIN")
	}
	return fmt.Errorf("the controller listener authenticates with PLAIN only (gokafka serves no %s)", mech)
}

// authorizePeers admits to the sealed controller listener only the peers
// whose principal (their SASL user, or else their certificate's) may
// ClusterAction on the cluster, as Kafka authorizes what arrives on
// controller listeners; acls reads the stored ACLs once the coordinator
// runs. Without an authorizer every peer that authenticates is admitted.
// A node's own principal belongs in super.users: ACLs are read from the
// quorum, which a restarting node can only reach through this check.
func authorizePeers(cfg *serverConfig, acls func() *auth.ACLSet) {
	a, rules, c := cfg.Broker.Authorizer, cfg.ControllerPrincipals, &cfg.Coordinator
	if a == nil {
		return
	}
	// A refusal is logged by the coordinator, once a minute per source.
	may := func(p auth.Principal) bool {
		return a.Authorize(acls(), p, netip.Addr{}, kmsg.ACLOperationClusterAction, kmsg.ACLResourceTypeCluster, "kafka-cluster")
	}
	switch {
	case c.SASL != nil:
		c.AuthorizePrincipal = may
	case c.ServerTLS != nil:
		c.AuthorizePeer = func(state tls.ConnectionState) bool {
			if len(state.PeerCertificates) == 0 {
				return false
			}
			p, err := rules.FromCert(state.PeerCertificates[0])
			return err == nil && may(p)
		}
	}
}

// newTLS builds one TLS side of a listener and keeps it, so that main can
// log when a keystore replaced on disk cannot be loaded.
func (b *build) newTLS(what string, keys auth.Keys, role auth.Role) (*tls.Config, error) {
	t, err := auth.NewTLS(keys, role)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", b.file, what, err)
	}
	b.cfg.Keystores = append(b.cfg.Keystores, keystore{What: what, TLS: t})
	return t.Config(), nil
}

// authorizer turns on ACLs when authorizer.class.name names Kafka's.
func (b *build) authorizer() error {
	e, _ := b.props.Entry("authorizer.class.name")
	switch strings.TrimSpace(e.Value) {
	case "":
		return nil
	case "org.apache.kafka.metadata.authorizer.StandardAuthorizer", "kafka.security.authorizer.AclAuthorizer":
	default:
		return b.badValue(e, errors.New("gokafka's authorizer answers to org.apache.kafka.metadata.authorizer.StandardAuthorizer (or kafka.security.authorizer.AclAuthorizer); leave it empty for none"))
	}
	supers, _ := b.props.Entry("super.users")
	allow, _ := b.props.Entry("allow.everyone.if.no.acl.found")
	a, err := auth.NewAuthorizer(splitSuperUsers(supers.Value), strings.EqualFold(strings.TrimSpace(allow.Value), "true"))
	if err != nil {
		return b.badValue(supers, err)
	}
	b.cfg.Broker.Authorizer = a
	return nil
}

// splitSuperUsers splits super.users at semicolons, as Kafka does.
func splitSuperUsers(v string) []string {
	var out []string
	for _, u := range strings.Split(v, ";") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// knownListenerKey reports whether k is a listener-prefixed form of a key
// gokafka knows: listener.name.<l>.<key>, or
// listener.name.<l>.<mechanism>.sasl.jaas.config.
func knownListenerKey(k string) bool {
	rest, ok := strings.CutPrefix(k, "listener.name.")
	if !ok {
		return false
	}
	_, key, ok := strings.Cut(rest, ".")
	if !ok {
		return false
	}
	if config.BrokerKey(key) != nil {
		return true
	}
	mech, key, _ := strings.Cut(key, ".")
	return key == "sasl.jaas.config" && slices.Contains(mechanisms, strings.ToUpper(mech))
}
