// Package config is the one catalogue of every config key gokafka knows:
// the broker keys of server.properties (static, or dynamic: changed at run
// time per broker or as the cluster default) and the topic keys. Each key
// carries Kafka's name, its scope, its type as DescribeConfigs reports it,
// its default, its valid values and a short documentation string; a
// broker key that sets a topic key's default names that topic key and the
// factor between their units, which makes it one of the topic key's
// synonyms.
//
// The catalogue drives validation (Key.Check), which keys AlterConfigs may
// change (Scope), and what DescribeConfigs reports (type, documentation,
// synonyms). Packages above it attach the effect of each key: cmd maps
// server.properties onto package configs, broker applies topic keys onto
// the log's config.
//
// Invariants:
//   - Names are unique within Broker and within Topics.
//   - A Default is a value its own Check accepts.
//   - Synonyms of a topic key are listed in Kafka's order of precedence:
//     the first one that is set wins (log.retention.ms over .minutes over
//     .hours).
//   - A key gokafka accepts but does not act on says so in its Doc.
package config
