package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/replica"

	"github.com/gokafka/gokafka/coordinator"
	grp "github.com/gokafka/gokafka/group"
	klog "github.com/gokafka/gokafka/log"
)

// Broker serves the Kafka protocol on the client listeners and owns the
// local replicas of partitions.
type Broker struct {
	cfg   Config
	log   *slog.Logger
	logs  *klog.Manager
	coord *coordinator.Coordinator

	replicas  *replica.Manager
	lease     *replica.Lease // while held, this broker may lead and coordinate
	producers *producerIDs
	groups    *grp.Coordinator
	// offsetsComplained is when ensureOffsetsTopic last logged that it
	// cannot create __consumer_offsets (ms).
	offsetsComplained atomic.Int64
	// verifyTxn asks a transactional id's coordinator whether partitions
	// are in the producer's ongoing transaction (KIP-890 part 1), or with
	// add to add them (part 2), before a transactional batch opens one
	// here: for each, nil to go ahead, else a Kafka error. Unset, every
	// such batch goes ahead.
	verifyTxn func(ctx context.Context, transactionalID string, producerID int64, epoch int16, tps []klog.TopicPartition, add bool) map[klog.TopicPartition]error
	txns      *txnCoordinator
	dynamic   dynamicState
	counters  counters
	// Replication throttles (throttle.go).
	leaderQuota, followerQuota *quota

	budget *requestBudget // queued.max.request.bytes; nil = unbounded

	fetchSessions *fetchSessionCache // KIP-227, fetch_sessions.go
	purgatory     *replica.Purgatory // parked produces and fetches
	refusals      *auth.Refusals     // connections refused before authenticating

	mu        sync.Mutex
	listeners []net.Listener
	conns     map[*conn]struct{}
	connsByIP map[netip.Addr]int
	// acceptErrs holds, by listener name, the error its accept keeps
	// failing with (out of file descriptors); empty while all accept.
	acceptErrs map[string]error
	closed     bool
	wg         sync.WaitGroup
	ctx        context.Context
	cancel     context.CancelFunc
	ready      atomic.Bool
}

// New creates a broker over an opened log manager and a started
// coordinator. It serves nothing until Start.
func New(cfg Config, logs *klog.Manager, coord *coordinator.Coordinator, logger *slog.Logger) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// server.properties' broker keys that set topic defaults apply the way
	// dynamic ones do (compression.type among them); the log defaults of
	// keys the command maps itself (log.segment.bytes, ...) come out the
	// same.
	static, defaults := staticConfigs(cfg.ServerConfigs)
	staticLog, _, err := withDynamic(logs.Defaults(), cfg.MinInsyncReplicas, static)
	if err != nil {
		return nil, fmt.Errorf("server.properties: %w", err)
	}
	if staticLog != logs.Defaults() {
		logs.SetDefaults(staticLog)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Broker{
		cfg:    cfg,
		log:    logger,
		logs:   logs,
		coord:  coord,
		conns:  map[*conn]struct{}{},
		ctx:    ctx,
		cancel: cancel,
		lease:  replica.NewLease(),
		budget: newRequestBudget(cfg.QueuedMaxRequestBytes),

		fetchSessions: newFetchSessionCache(cfg.FetchSessionCacheSlots),
		refusals:      auth.NewRefusals(time.Minute),

		connsByIP:  map[netip.Addr]int{},
		acceptErrs: map[string]error{},

		leaderQuota:   newQuota(),
		followerQuota: newQuota(),
	}
	b.purgatory = replica.NewPurgatory(ctx, &b.wg)
	b.dynamic.static, b.dynamic.defaults = static, defaults
	b.dynamic.staticLog, b.dynamic.staticMinISR = staticLog, cfg.MinInsyncReplicas
	b.dynamic.minISR.Store(int64(cfg.MinInsyncReplicas))
	b.dynamic.maxConnections.Store(int64(cfg.MaxConnections))
	b.replicas = newReplicaManager(b, coord)
	logs.OnSynced(b.replicas.LogSynced)
	b.producers = newProducerIDs(coord, cfg.NodeID)
	b.groups = grp.New(cfg.Group(), offsetsLog{b}, offsetsCluster{b}, b.log, func() { b.counters.rebalances.Add(1) })
	b.txns = newTxnCoordinator(b)
	b.verifyTxn = b.txns.verifyTxn
	return b, nil
}

// Start registers the broker with the controller, brings its local replicas
// in line with the metadata, and opens the client listeners.
func (b *Broker) Start(ctx context.Context) error {
	if err := b.register(ctx); err != nil {
		return err
	}
	b.replicas.Start()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.groups.Run(b.ctx)
	}()
	b.txns.coord.Start()
	for _, l := range b.cfg.Listeners {
		ln, err := net.Listen("tcp", l.Addr())
		if err != nil {
			return fmt.Errorf("listeners: %s: %w", l.Name, err)
		}
		b.mu.Lock()
		b.listeners = append(b.listeners, ln)
		b.mu.Unlock()
		b.wg.Add(1)
		go b.acceptLoop(ln, l)
		b.log.Info("listening", "listener", l.Name, "addr", ln.Addr().String())
	}
	b.ready.Store(true)
	return nil
}

// Ready reports whether the broker is registered and serving.
func (b *Broker) Ready() bool { return b.ready.Load() }

// AcceptError reports why a client listener cannot accept connections
// (typically: out of file descriptors), nil while every listener accepts.
// /readyz answers 503 with it.
func (b *Broker) AcceptError() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for name, err := range b.acceptErrs {
		errs = append(errs, fmt.Errorf("listener %s cannot accept connections: %w", name, err))
	}
	return errors.Join(errs...)
}

// acceptLoop serves one listener until Close. A failing accept backs off,
// 5 ms doubling to 1 s as net/http does, and retries for ever: running out
// of file descriptors (EMFILE, ENFILE) passes once connections close.
func (b *Broker) acceptLoop(ln net.Listener, l Listener) {
	name := l.Name
	defer b.wg.Done()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return // closed by Close
		}
		if err != nil {
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			b.acceptFailed(name, err)
			select {
			case <-time.After(delay):
				continue
			case <-b.ctx.Done():
				return
			}
		}
		if delay > 0 {
			delay = 0
			b.acceptRecovered(name)
		}
		b.tuneSocket(nc)
		c := &conn{
			b:         b,
			nc:        nc,
			sock:      nc,
			ip:        remoteIP(nc),
			listener:  name,
			sec:       l.Security,
			principal: auth.Anonymous,
			log:       b.log.With("remote", nc.RemoteAddr().String(), "listener", name),
			queue:     make(chan *response, b.cfg.MaxInFlightPerConn),
			quit:      make(chan struct{}),
		}
		if l.Security.sasl() {
			c.sasl = &saslConn{}
		}
		if !b.admit(c) {
			nc.Close()
			continue
		}
		go c.serve()
	}
}

// acceptFailed records the error a listener's accept fails with, logging
// only the first of a run.
func (b *Broker) acceptFailed(name string, err error) {
	b.mu.Lock()
	_, failing := b.acceptErrs[name]
	b.acceptErrs[name] = err
	b.mu.Unlock()
	if !failing {
		b.log.Error("accepting connections failed; retrying with backoff", "listener", name, "err", err)
	}
}

func (b *Broker) acceptRecovered(name string) {
	b.mu.Lock()
	delete(b.acceptErrs, name)
	b.mu.Unlock()
	b.log.Info("accepting connections again", "listener", name)
}

// admit registers c unless the broker is closing or c would exceed
// max.connections or max.connections.per.ip (or the override for its
// address); Kafka closes such a connection at accept.
func (b *Broker) admit(c *conn) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	perIP := b.cfg.MaxConnectionsPerIP
	if n, ok := b.cfg.MaxConnectionsPerIPOverride[c.ip]; ok {
		perIP = n
	}
	switch {
	case int64(len(b.conns)) >= b.dynamic.maxConnections.Load():
		c.log.Info("closing connection: max.connections reached", "max", b.dynamic.maxConnections.Load())
		return false
	case b.connsByIP[c.ip] >= perIP:
		c.log.Info("closing connection: max.connections.per.ip reached", "ip", c.ip, "max", perIP)
		return false
	}
	b.conns[c] = struct{}{}
	b.connsByIP[c.ip]++
	b.counters.connectionsCreated.Add(1)
	b.wg.Add(1)
	return true
}

// remoteIP is the peer's address without port, IPv4-mapped addresses
// unmapped so that one host counts once.
func remoteIP(nc net.Conn) netip.Addr {
	ap, err := netip.ParseAddrPort(nc.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func (b *Broker) tuneSocket(nc net.Conn) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	tc.SetNoDelay(true)
	if b.cfg.SocketSendBufferBytes > 0 {
		tc.SetWriteBuffer(b.cfg.SocketSendBufferBytes)
	}
	if b.cfg.SocketReceiveBufferBytes > 0 {
		tc.SetReadBuffer(b.cfg.SocketReceiveBufferBytes)
	}
}

func (b *Broker) forgetConn(c *conn) {
	b.mu.Lock()
	delete(b.conns, c)
	if b.connsByIP[c.ip]--; b.connsByIP[c.ip] <= 0 {
		delete(b.connsByIP, c.ip)
	}
	b.mu.Unlock()
}

// Close stops the listeners, closes every connection (parked requests are
// answered by their timeouts or dropped with the connection), stops the
// replica manager and waits for every goroutine the broker started.
func (b *Broker) Close() error {
	b.ready.Store(false)
	b.mu.Lock()
	b.closed = true
	for _, ln := range b.listeners {
		ln.Close()
	}
	for c := range b.conns {
		c.sock.Close()
	}
	b.mu.Unlock()
	b.cancel()
	b.txns.coord.Close()
	b.txns.peers.close()
	b.replicas.Stop()
	b.wg.Wait()
	return nil
}

// ControlledShutdown asks the controller to move this broker's leaderships
// to other ISR members before it stops, so that clients switch leaders at
// once instead of after the session timeout. It gives up after timeout.
func (b *Broker) ControlledShutdown(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := b.coord.ControlledShutdown(ctx, b.cfg.NodeID); err != nil {
		b.log.Warn("controlled shutdown incomplete: leaderships move when the session expires", "err", err)
		return
	}
	b.log.Info("controlled shutdown: leaderships moved away")
}
