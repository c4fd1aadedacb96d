// Package auth is Kafka's security model without the network: TLS
// configuration from Kafka's ssl.* keys, the server side of SASL PLAIN and
// SCRAM, principals, and the ACL authorizer.
//
// It is a leaf: it imports the standard library, kmsg (for the ACL enums
// that travel on the wire), franz-go's kerr and sasl (for Authenticate,
// the client side of SaslHandshake + SaslAuthenticate that the broker's
// replica fetchers and the coordinator's controller connections share)
// and golang.org/x/crypto, nothing of gokafka's.
// The broker owns connections and asks auth who a peer is and what it may
// do; the coordinator stores ACLs and SCRAM credentials in the metadata
// quorum using the types defined here.
package auth
