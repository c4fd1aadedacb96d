package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const cookieName = "gokafka_console"

// A session is one browser's: its CSRF token and, once logged in on a SASL
// listener, a Kafka client of its own that speaks as the user it logged in
// as, so that the broker's ACLs decide what the page may see and do.
type session struct {
	id, csrf string
	user     string    // "" when anonymous
	opts     []kgo.Opt // how to dial as this user, for the browser's own consumers
	cl       *kgo.Client
	adm      *kadm.Client // over cl
	owned    bool         // adm's client is this session's, closed with it
	expires  time.Time
}

func (s *session) close() {
	if s.owned {
		s.adm.Close()
	}
}

// sessions are bounded in number and expire after idle time; expired ones
// are dropped (and their clients closed) whenever a session is added.
type sessions struct {
	mu   sync.Mutex
	m    map[string]*session
	max  int
	idle time.Duration
}

var errTooManySessions = errors.New("too many console sessions: try again after one expires")

func token() string {
	b := make([]byte, 24)
	rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return base64.RawURLEncoding.EncodeToString(b)
}

// get returns the live session of r's cookie and extends it, or nil.
func (ss *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[c.Value]
	if s == nil {
		return nil
	}
	now := time.Now()
	if now.After(s.expires) {
		delete(ss.m, s.id)
		s.close()
		return nil
	}
	s.expires = now.Add(ss.idle)
	return s
}

// add stores s under a new id and sets its cookie on w.
func (ss *sessions) add(w http.ResponseWriter, s *session) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := time.Now()
	for id, old := range ss.m {
		if now.After(old.expires) {
			delete(ss.m, id)
			old.close()
		}
	}
	if len(ss.m) >= ss.max && !ss.evictAnonymous() {
		return errTooManySessions
	}
	s.id, s.csrf, s.expires = token(), token(), now.Add(ss.idle)
	ss.m[s.id] = s
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.id, Path: "/console/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(ss.idle.Seconds())})
	return nil
}

// evictAnonymous drops the anonymous session idle longest, so that
// requests without a cookie cannot lock browsers out by filling the
// table: an anonymous session holds only a CSRF token, and its browser
// gets a new one on its next page. Logged-in sessions are never evicted.
func (ss *sessions) evictAnonymous() bool {
	var oldest *session
	for _, s := range ss.m {
		if s.user == "" && (oldest == nil || s.expires.Before(oldest.expires)) {
			oldest = s
		}
	}
	if oldest == nil {
		return false
	}
	delete(ss.m, oldest.id)
	oldest.close()
	return true
}

// remove ends r's session (logout) and clears its cookie.
func (ss *sessions) remove(w http.ResponseWriter, s *session) {
	ss.mu.Lock()
	delete(ss.m, s.id)
	ss.mu.Unlock()
	s.close()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Path: "/console/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

func (ss *sessions) closeAll() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for id, s := range ss.m {
		delete(ss.m, id)
		s.close()
	}
}

// csrfOK reports whether the form's token is the session's.
func (s *session) csrfOK(r *http.Request) bool {
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) == 1
}
