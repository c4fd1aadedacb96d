package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
)

// Broker serves the Kafka protocol on the client listeners and owns the
// local replicas of partitions.
type Broker struct {
	cfg   Config
	log   *slog.Logger
	logs  *klog.Manager
	coord *coordinator.Coordinator

	replicas  *replicaManager
	producers *producerIDs
	groups    *groupCoordinator
	dynamic   dynamicState
	counters  counters
	// Replication throttles (throttle.go).
	leaderQuota, followerQuota *quota

	mu        sync.Mutex
	listeners []net.Listener
	conns     map[*conn]struct{}
	closed    bool
	wg        sync.WaitGroup
	ctx       context.Context
	cancel    context.CancelFunc
	ready     atomic.Bool
}

// New creates a broker over an opened log manager and a started
// coordinator. It serves nothing until Start.
func New(cfg Config, logs *klog.Manager, coord *coordinator.Coordinator, logger *slog.Logger) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
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

		leaderQuota:   newQuota(),
		followerQuota: newQuota(),
	}
	b.dynamic.staticLog, b.dynamic.staticMinISR = logs.Defaults(), cfg.MinInsyncReplicas
	b.dynamic.minISR.Store(int64(cfg.MinInsyncReplicas))
	b.replicas = newReplicaManager(b)
	b.producers = newProducerIDs(coord, cfg.NodeID)
	b.groups = newGroupCoordinator(b)
	return b, nil
}

// Start registers the broker with the controller, brings its local replicas
// in line with the metadata, and opens the client listeners.
func (b *Broker) Start(ctx context.Context) error {
	if err := b.register(ctx); err != nil {
		return err
	}
	b.replicas.start()
	b.wg.Add(1)
	go b.groups.sessionLoop()
	for _, l := range b.cfg.Listeners {
		ln, err := net.Listen("tcp", l.Addr())
		if err != nil {
			return fmt.Errorf("listeners: %s: %w", l.Name, err)
		}
		b.mu.Lock()
		b.listeners = append(b.listeners, ln)
		b.mu.Unlock()
		b.wg.Add(1)
		go b.acceptLoop(ln, l.Name)
		b.log.Info("listening", "listener", l.Name, "addr", ln.Addr().String())
	}
	b.ready.Store(true)
	return nil
}

// Ready reports whether the broker is registered and serving.
func (b *Broker) Ready() bool { return b.ready.Load() }

func (b *Broker) acceptLoop(ln net.Listener, name string) {
	defer b.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			return // closed by Close
		}
		b.tuneSocket(nc)
		c := &conn{
			b:        b,
			nc:       nc,
			listener: name,
			log:      b.log.With("remote", nc.RemoteAddr().String(), "listener", name),
			queue:    make(chan *response, b.cfg.MaxInFlightPerConn),
			quit:     make(chan struct{}),
		}
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			nc.Close()
			return
		}
		b.conns[c] = struct{}{}
		b.counters.connectionsCreated.Add(1)
		b.wg.Add(1)
		b.mu.Unlock()
		go c.serve()
	}
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
		c.nc.Close()
	}
	b.mu.Unlock()
	b.cancel()
	b.replicas.stop()
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
