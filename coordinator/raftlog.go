package coordinator

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/gokafka/gokafka/auth"
)

// raftLogger is the hclog.Logger that hashicorp/raft and its transport
// write through. Their lines become records of the node's slog logger,
// tagged component=raft, so that the log has one format instead of
// hclog's "[WARN]  raft: ..." lines between slog's. Warnings and errors
// repeat once per heartbeat while a peer is down, so each message is
// logged at most once per raftLogPeriod per peer, with the count of the
// lines left out since.
type raftLogger struct {
	log     *slog.Logger
	name    string
	implied []any
	level   *atomic.Int32  // an hclog.Level, shared with With and Named children as hclog does
	limit   *auth.Refusals // shared too: a child logs the same peers
	now     func() time.Time
}

// raftLogPeriod is how often one Raft warning or error about one peer is
// logged.
const raftLogPeriod = 10 * time.Second

// newRaftLogger logs at level and above through logger.
func newRaftLogger(logger *slog.Logger, level hclog.Level) *raftLogger {
	l := &raftLogger{log: logger, name: "raft", level: new(atomic.Int32), limit: auth.NewRefusals(raftLogPeriod), now: time.Now}
	l.level.Store(int32(level))
	return l
}

func (l *raftLogger) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.NoLevel {
		level = hclog.Info // as hclog reads it
	}
	if level < l.GetLevel() || level >= hclog.Off {
		return
	}
	all := append(l.implied[:len(l.implied):len(l.implied)], args...)
	attrs := append([]slog.Attr{slog.String("component", l.name)}, raftAttrs(all)...)
	if level >= hclog.Warn {
		ok, _, suppressed := l.limit.NoteKey(l.name+": "+msg+" "+raftPeer(all), l.now())
		if !ok {
			return
		}
		if suppressed > 0 {
			attrs = append(attrs, slog.Int("suppressed_since_last_line", suppressed))
		}
	}
	l.log.LogAttrs(context.Background(), slogLevel(level), msg, attrs...)
}

// raftPeerKeys are the keys under which raft names the peer a line is
// about; the first one present tells repeated lines about different peers
// apart.
var raftPeerKeys = []string{"peer", "server-id", "target", "from", "candidate"}

func raftPeer(args []any) string {
	for _, key := range raftPeerKeys {
		for i := 0; i+1 < len(args); i += 2 {
			if k, ok := args[i].(string); ok && k == key {
				return fmt.Sprint(args[i+1])
			}
		}
	}
	return ""
}

// raftAttrs turns hclog's alternating keys and values into slog
// attributes; a value without a key is kept under slog's own !BADKEY.
func raftAttrs(args []any) []slog.Attr {
	attrs := make([]slog.Attr, 0, (len(args)+1)/2)
	for i := 0; i < len(args); i += 2 {
		if i+1 == len(args) {
			attrs = append(attrs, slog.Any("!BADKEY", raftValue(args[i])))
			break
		}
		attrs = append(attrs, slog.Any(fmt.Sprint(args[i]), raftValue(args[i+1])))
	}
	return attrs
}

// raftValue renders hclog.Fmt values, which raft uses for structs, as
// hclog would.
func raftValue(v any) any {
	if f, ok := v.(hclog.Format); ok && len(f) > 0 {
		if format, ok := f[0].(string); ok {
			return fmt.Sprintf(format, f[1:]...)
		}
	}
	return v
}

func slogLevel(level hclog.Level) slog.Level {
	switch {
	case level <= hclog.Debug:
		return slog.LevelDebug
	case level == hclog.Info:
		return slog.LevelInfo
	case level == hclog.Warn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

var _ hclog.Logger = (*raftLogger)(nil)

func (l *raftLogger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }
func (l *raftLogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l *raftLogger) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l *raftLogger) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l *raftLogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

func (l *raftLogger) IsTrace() bool { return l.GetLevel() <= hclog.Trace }
func (l *raftLogger) IsDebug() bool { return l.GetLevel() <= hclog.Debug }
func (l *raftLogger) IsInfo() bool  { return l.GetLevel() <= hclog.Info }
func (l *raftLogger) IsWarn() bool  { return l.GetLevel() <= hclog.Warn }
func (l *raftLogger) IsError() bool { return l.GetLevel() <= hclog.Error }

func (l *raftLogger) ImpliedArgs() []any { return l.implied }

func (l *raftLogger) With(args ...any) hclog.Logger {
	c := *l
	c.implied = append(l.implied[:len(l.implied):len(l.implied)], args...)
	return &c
}

func (l *raftLogger) Name() string { return l.name }

func (l *raftLogger) Named(name string) hclog.Logger {
	if l.name != "" {
		name = l.name + "." + name
	}
	return l.ResetNamed(name)
}

func (l *raftLogger) ResetNamed(name string) hclog.Logger {
	c := *l
	c.name = name
	return &c
}

func (l *raftLogger) SetLevel(level hclog.Level) { l.level.Store(int32(level)) }
func (l *raftLogger) GetLevel() hclog.Level      { return hclog.Level(l.level.Load()) }

func (l *raftLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(l.StandardWriter(opts), "", 0)
}

// StandardWriter logs each write as one line, at opts.ForceLevel if set,
// else at Info.
func (l *raftLogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	level := hclog.Info
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		level = opts.ForceLevel
	}
	return raftWriter{l: l, level: level}
}

type raftWriter struct {
	l     *raftLogger
	level hclog.Level
}

func (w raftWriter) Write(p []byte) (int, error) {
	w.l.Log(w.level, strings.TrimSpace(string(p)))
	return len(p), nil
}
