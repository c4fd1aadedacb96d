package coordinator

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/protocol"
)

// SCRAM credentials live in the image by user and mechanism. As in KRaft,
// AlterUserScramCredentials brings the salted password; the controller
// turns it into StoredKey and ServerKey (RFC 5802) before proposing, so the
// log and the image never hold what a client could log in with.

const (
	// maxScramSalt bounds a salt: Kafka's clients send about 26 bytes.
	maxScramSalt = 1024
	// maxScramUserLen bounds a user name, as maxACLFieldLen does an ACL's.
	maxScramUserLen = 1024
	// maxScramPerOp bounds the changes of one request, as maxACLsPerOp.
	maxScramPerOp = 10_000
	// maxScramCredentials bounds the credentials in the image (two
	// mechanisms each for 50,000 users).
	maxScramCredentials = 100_000
)

// ScramUpsertion sets one user's credential for one mechanism, from the
// salted password (Hi(password, salt, iterations) of RFC 5802) as
// AlterUserScramCredentials carries it.
type ScramUpsertion struct {
	Name           string
	Mechanism      auth.ScramMechanism
	Iterations     int32
	Salt           []byte
	SaltedPassword []byte
}

// ScramDeletion removes one user's credential for one mechanism.
type ScramDeletion struct {
	Name      string
	Mechanism auth.ScramMechanism
}

// ScramResult is the outcome of one deletion or upsertion.
type ScramResult struct {
	User      string
	Mechanism auth.ScramMechanism
	Err       error // with a Kafka error code; nil on success
}

// scramChange is one credential change as commands carry it: Credential
// nil removes the user's credential for Mechanism.
type scramChange struct {
	User       string
	Mechanism  auth.ScramMechanism
	Credential *auth.ScramCredential `json:",omitempty"`
}

// AlterScram applies the deletions and upsertions that pass validation in
// one command. The results list the deletions, then the upsertions, in
// request order; the error is the whole operation's.
func (c *Coordinator) AlterScram(ctx context.Context, up []ScramUpsertion, del []ScramDeletion) ([]ScramResult, error) {
	resp, err := c.call(ctx, &rpcRequest{Op: rpcAlterScram, ScramUpserts: up, ScramDeletes: del})
	if err == nil {
		err = resp.err()
	}
	if err != nil {
		return nil, err
	}
	out := make([]ScramResult, 0, len(del)+len(up))
	for _, d := range del {
		out = append(out, ScramResult{User: d.Name, Mechanism: d.Mechanism})
	}
	for _, u := range up {
		out = append(out, ScramResult{User: u.Name, Mechanism: u.Mechanism})
	}
	for i := range out {
		if i < len(resp.Results) && resp.Results[i].Code != 0 {
			out[i].Err = &protocol.Error{Code: protocol.ErrorCode(resp.Results[i].Code), Msg: resp.Results[i].Msg}
		}
	}
	return out, nil
}

// ScramCredential returns user's credential for mechanism in the image.
func (m *Metadata) ScramCredential(user string, mechanism auth.ScramMechanism) (auth.ScramCredential, bool) {
	cred, ok := m.Scram[user][mechanism]
	return cred, ok
}

type scramKey struct {
	user      string
	mechanism auth.ScramMechanism
}

func (c *Coordinator) alterScram(up []ScramUpsertion, del []ScramDeletion) rpcResponse {
	if n := len(up) + len(del); n > maxScramPerOp {
		return errResponse(protocol.Errorf(protocol.InvalidRequest, "at most %d credentials may be altered at once, got %d", maxScramPerOp, n))
	}
	results := make([]rpcResult, len(del)+len(up))
	res, err := c.ctrl.do(func(md *Metadata) (*command, error) {
		counts := map[scramKey]int{}
		for _, d := range del {
			counts[scramKey{d.Name, d.Mechanism}]++
		}
		for _, u := range up {
			counts[scramKey{u.Name, u.Mechanism}]++
		}
		cmd := &command{Op: opAlterScram}
		stored := scramCount(md.Scram)
		for i, d := range del {
			results[i].Name = d.Name
			err := checkScramTarget(counts, d.Name, d.Mechanism)
			if _, ok := md.ScramCredential(d.Name, d.Mechanism); err == nil && !ok {
				err = protocol.Errorf(protocol.ResourceNotFound, "Attempt to delete a user credential that does not exist")
			}
			if err != nil {
				results[i].fail(err)
				continue
			}
			cmd.Scram = append(cmd.Scram, scramChange{User: d.Name, Mechanism: d.Mechanism})
			stored--
		}
		for j, u := range up {
			i := len(del) + j
			results[i].Name = u.Name
			cred, err := credentialFor(counts, u)
			if _, ok := md.ScramCredential(u.Name, u.Mechanism); err == nil && !ok {
				if stored >= maxScramCredentials {
					err = protocol.Errorf(protocol.PolicyViolation, "the cluster holds %d SCRAM credentials, the most it may", maxScramCredentials)
				} else {
					stored++
				}
			}
			if err != nil {
				results[i].fail(err)
				continue
			}
			cmd.Scram = append(cmd.Scram, scramChange{User: u.Name, Mechanism: u.Mechanism, Credential: cred})
		}
		if len(cmd.Scram) == 0 {
			return nil, nil
		}
		return cmd, nil
	})
	r := respond(res, err)
	r.Results = results
	return r
}

// checkScramTarget is Kafka's check of a user and mechanism, and its rule
// that a request alters a credential once.
func checkScramTarget(counts map[scramKey]int, user string, mechanism auth.ScramMechanism) error {
	switch {
	case user == "":
		return protocol.Errorf(protocol.UnacceptableCredential, "Username must not be empty")
	case len(user) > maxScramUserLen:
		return protocol.Errorf(protocol.UnacceptableCredential, "Username is longer than %d bytes", maxScramUserLen)
	case scramKeySize(mechanism) == 0:
		return protocol.Errorf(protocol.UnsupportedSaslMechanism, "Unknown SCRAM mechanism")
	case counts[scramKey{user, mechanism}] > 1:
		return protocol.Errorf(protocol.DuplicateResource, "A user credential cannot be altered twice in the same request")
	}
	return nil
}

// credentialFor checks an upsertion and derives what the quorum stores.
func credentialFor(counts map[scramKey]int, u ScramUpsertion) (*auth.ScramCredential, error) {
	if err := checkScramTarget(counts, u.Name, u.Mechanism); err != nil {
		return nil, err
	}
	switch size := scramKeySize(u.Mechanism); {
	case u.Iterations < auth.ScramMinIterations:
		return nil, protocol.Errorf(protocol.UnacceptableCredential, "Too few iterations")
	case u.Iterations > auth.ScramMaxIterations:
		return nil, protocol.Errorf(protocol.UnacceptableCredential, "Too many iterations")
	case len(u.Salt) == 0 || len(u.Salt) > maxScramSalt:
		return nil, protocol.Errorf(protocol.UnacceptableCredential, "The salt must hold 1 to %d bytes, not %d", maxScramSalt, len(u.Salt))
	case len(u.SaltedPassword) != size:
		return nil, protocol.Errorf(protocol.UnacceptableCredential, "A salted password for %s holds %d bytes, not %d", u.Mechanism, size, len(u.SaltedPassword))
	}
	cred, err := auth.ScramFromSalted(u.Mechanism, u.SaltedPassword, u.Salt, u.Iterations)
	if err != nil { // the checks above leave nothing for it to refuse
		return nil, protocol.Errorf(protocol.UnacceptableCredential, "%v", err)
	}
	return &cred, nil
}

// scramKeySize is the size of a mechanism's hash, and so of its salted
// password, StoredKey and ServerKey; 0 for an unknown mechanism.
func scramKeySize(m auth.ScramMechanism) int {
	switch m {
	case auth.ScramSHA256:
		return 32
	case auth.ScramSHA512:
		return 64
	}
	return 0
}

func scramCount(s map[string]map[auth.ScramMechanism]auth.ScramCredential) int {
	n := 0
	for _, byMech := range s {
		n += len(byMech)
	}
	return n
}

// checkScramChange is what the state machine checks of a change from the
// log or a snapshot: everything the controller checked that it can see.
func checkScramChange(ch scramChange) error {
	if ch.User == "" || len(ch.User) > maxScramUserLen {
		return fmt.Errorf("a SCRAM user name of %d bytes", len(ch.User))
	}
	size := scramKeySize(ch.Mechanism)
	if size == 0 {
		return fmt.Errorf("user %q: unknown SCRAM mechanism %d", ch.User, ch.Mechanism)
	}
	cred := ch.Credential
	if cred == nil {
		return nil
	}
	if cred.Mechanism != ch.Mechanism || cred.Iterations < auth.ScramMinIterations || cred.Iterations > auth.ScramMaxIterations ||
		len(cred.Salt) == 0 || len(cred.Salt) > maxScramSalt || len(cred.StoredKey) != size || len(cred.ServerKey) != size {
		return fmt.Errorf("user %q: a malformed %s credential", ch.User, ch.Mechanism)
	}
	return nil
}

// applyScram installs changes in m, copying only the users it changes.
// A change beyond maxScramCredentials is skipped and reported.
func applyScram(m *Metadata, changes []scramChange) error {
	if m.Scram == nil {
		m.Scram = map[string]map[auth.ScramMechanism]auth.ScramCredential{}
	}
	n := scramCount(m.Scram)
	var err error
	for _, ch := range changes {
		byMech := maps.Clone(m.Scram[ch.User])
		_, had := byMech[ch.Mechanism]
		switch {
		case ch.Credential == nil:
			delete(byMech, ch.Mechanism)
		case !had && n >= maxScramCredentials:
			err = fmt.Errorf("user %q: the image holds %d SCRAM credentials, the most it may", ch.User, maxScramCredentials)
			continue
		default:
			if byMech == nil {
				byMech = map[auth.ScramMechanism]auth.ScramCredential{}
			}
			byMech[ch.Mechanism] = *ch.Credential
		}
		if len(byMech) == 0 {
			delete(m.Scram, ch.User)
		} else {
			m.Scram[ch.User] = byMech
		}
		n = scramCount(m.Scram)
	}
	return err
}

// bootstrapFile, in the metadata directory, holds the SCRAM credentials
// that `gokafka-server format --add-scram` recorded: the node that
// initialises the cluster proposes them with init_cluster, so the first
// admin exists before any client connects (kafka-storage format writes
// them into bootstrap.checkpoint). It holds StoredKey and ServerKey, never
// a password, and is readable by the owner only.
const bootstrapFile = "bootstrap.json"

type bootstrap struct {
	Scram []scramChange
}

// UserScram is one user's credential for one mechanism.
type UserScram struct {
	User       string
	Credential auth.ScramCredential
}

// WriteBootstrapScram records credentials in dir (the metadata directory,
// Config.Dir) for the cluster's initialisation, replacing any recorded
// before. Each is checked as the state machine will check it.
func WriteBootstrapScram(dir string, creds []UserScram) error {
	var b bootstrap
	seen := map[scramKey]bool{}
	for _, u := range creds {
		ch := scramChange{User: u.User, Mechanism: u.Credential.Mechanism, Credential: &u.Credential}
		if err := checkScramChange(ch); err != nil {
			return err
		}
		k := scramKey{u.User, ch.Mechanism}
		if seen[k] {
			return fmt.Errorf("user %q: %s given twice", u.User, ch.Mechanism)
		}
		seen[k] = true
		b.Scram = append(b.Scram, ch)
	}
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, bootstrapFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readBootstrapScram returns the credentials recorded in dir, none when
// there is no file.
func readBootstrapScram(dir string) ([]scramChange, error) {
	path := filepath.Join(dir, bootstrapFile)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var b bootstrap
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b.Scram) > maxScramPerOp {
		return nil, fmt.Errorf("%s: %d credentials, at most %d", path, len(b.Scram), maxScramPerOp)
	}
	for _, ch := range b.Scram {
		if err := checkScramChange(ch); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return b.Scram, nil
}
