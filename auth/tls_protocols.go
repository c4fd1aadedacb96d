package auth

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
)

// setProtocols applies ssl.enabled.protocols and ssl.cipher.suites.
func setProtocols(cfg *tls.Config, keys Keys) error {
	v, ok := keys("ssl.enabled.protocols")
	if !ok {
		v = "TLSv1.2,TLSv1.3" // Kafka's default
	}
	var versions []uint16
	for _, p := range splitList(v) {
		switch p {
		case "TLSv1.2":
			versions = append(versions, tls.VersionTLS12)
		case "TLSv1.3":
			versions = append(versions, tls.VersionTLS13)
		case "TLSv1", "TLSv1.1", "SSLv3", "SSLv2Hello":
			return fmt.Errorf("ssl.enabled.protocols=%s: %s is insecure and not supported; use TLSv1.2 and TLSv1.3", v, p)
		default:
			return fmt.Errorf("ssl.enabled.protocols=%s: unknown protocol %q; want TLSv1.2, TLSv1.3", v, p)
		}
	}
	if len(versions) == 0 {
		return fmt.Errorf("ssl.enabled.protocols=%s: no protocol enabled", v)
	}
	cfg.MinVersion, cfg.MaxVersion = slices.Min(versions), slices.Max(versions)
	return setCipherSuites(cfg, keys)
}

// setCipherSuites maps ssl.cipher.suites (Java's names, which are IANA's,
// or their SSL_ aliases) onto crypto/tls. Go does not let TLS 1.3 suites
// be chosen: they are accepted and all three stay enabled. A list with
// only TLS 1.3 suites turns TLS 1.2 off, and one with only TLS 1.2 suites
// turns TLS 1.3 off, as Java does when a version has no suite left.
func setCipherSuites(cfg *tls.Config, keys Keys) error {
	v, _ := keys("ssl.cipher.suites")
	names := splitList(v)
	if len(names) == 0 {
		return nil // Go's defaults, as Kafka takes the JVM's
	}
	var tls12 []uint16
	tls13 := false
	for _, name := range names {
		s := cipherSuite(name)
		switch {
		case s == nil:
			return fmt.Errorf("ssl.cipher.suites=%s: unknown cipher suite %q", v, name)
		case slices.Equal(s.SupportedVersions, []uint16{tls.VersionTLS13}):
			tls13 = true
		default:
			tls12 = append(tls12, s.ID)
		}
	}
	if len(tls12) == 0 {
		cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS13)
	}
	if !tls13 {
		cfg.MaxVersion = min(cfg.MaxVersion, tls.VersionTLS12)
	}
	if cfg.MinVersion > cfg.MaxVersion {
		return fmt.Errorf("ssl.cipher.suites=%s: no suite for the protocols of ssl.enabled.protocols", v)
	}
	cfg.CipherSuites = tls12
	return nil
}

func cipherSuite(name string) *tls.CipherSuite {
	if n, ok := strings.CutPrefix(name, "SSL_"); ok {
		name = "TLS_" + n
	}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// splitList splits a Kafka list value: comma separated, blanks trimmed,
// empty entries dropped.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
