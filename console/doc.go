// Package console is the management console served under /console/ on
// http.listener: cluster (brokers, controller, metadata quorum with lag),
// topics (partitions, leaders, ISR, sizes, configs; create, add
// partitions, alter configs, delete), consumer groups (members,
// assignments, lag; reset offsets), a message browser and live charts of
// this node's /metrics figures.
//
// It holds no privileged path into the broker: every page is answered by
// a Kafka client (franz-go) connected to this node's own client listener,
// so the broker's authentication and ACLs apply to the console as to any
// client. On a SASL listener the browser logs in with a Kafka user's
// credentials and its session gets a client of its own; without SASL all
// sessions share one anonymous client.
//
// What must hold:
//   - Nothing changes the cluster unless http.console.changes.enable=true,
//     and every change is a POST carrying the session's CSRF token; the
//     session cookie is HttpOnly and SameSite=Strict.
//   - Sessions are bounded (http.console.max.sessions) and expire after
//     http.console.session.timeout.ms idle; an expired session's client is
//     closed. A full table evicts its oldest anonymous session, never a
//     logged-in one.
//   - Every query parameter and form field passes params.go (names by
//     Kafka's rules, numbers within bounds) and POST bodies are bounded;
//     names and record contents reach the page only through html/template,
//     which escapes them, under a Content-Security-Policy that runs no
//     inline script.
//   - No page renders more than one page of rows (50 topics or groups, 100
//     partitions, 100 records, 8 KiB of one value): a cluster of 10,000
//     partitions is filtered and paginated on the server.
//   - Assets are embedded (assets/), so the console works offline.
package console
