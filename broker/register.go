package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/gokafka/gokafka/coordinator"
)

// register announces this broker and its advertised listeners to the
// controller, then keeps heartbeating so that the controller does not
// fence it; each answered heartbeat extends the broker's lease (replica.Lease).
func (b *Broker) register(ctx context.Context) error {
	reg := coordinator.BrokerRegistration{ID: b.cfg.NodeID, Rack: b.cfg.Rack}
	for _, l := range b.cfg.AdvertisedListeners {
		reg.Listeners = append(reg.Listeners, coordinator.Endpoint{Name: l.Name, Host: l.Host, Port: int32(l.Port)})
	}
	sent := time.Now()
	if err := b.coord.RegisterBroker(ctx, reg); err != nil {
		return fmt.Errorf("registering broker %d with the controller: %w", b.cfg.NodeID, err)
	}
	b.lease.Extend(sent.Add(b.coord.SessionTimeout()))
	b.log.Info("registered with the controller", "node", b.cfg.NodeID)
	b.wg.Add(1)
	go b.heartbeatLoop(reg)
	return nil
}

func (b *Broker) heartbeatLoop(reg coordinator.BrokerRegistration) {
	defer b.wg.Done()
	t := time.NewTicker(b.coord.HeartbeatInterval())
	defer t.Stop()
	lapsed := false
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
		held := b.lease.Held()
		if !held && !lapsed {
			b.log.Warn("lease with the controller ran out: no longer serving as a leader or coordinator",
				"session_timeout", b.coord.SessionTimeout())
		}
		lapsed = !held
		sent := time.Now()
		ctx, cancel := context.WithTimeout(b.ctx, b.coord.HeartbeatInterval())
		err := b.coord.Heartbeat(ctx, b.cfg.NodeID)
		cancel()
		if err == nil && !b.lease.Held() {
			err = b.catchUp()
		}
		if err != nil {
			if b.ctx.Err() == nil {
				b.log.Warn("heartbeat to the controller failed", "err", err, "lease_held", b.lease.Held())
			}
			continue
		}
		b.lease.Extend(sent.Add(b.coord.SessionTimeout()))
	}
}

// catchUp brings a broker whose lease ran out up to date before it takes
// the lease again: it applies what the controller had applied when asked,
// and the replica manager acts on it, so that a leadership moved away
// while the broker was cut off is gone before the broker serves again.
func (b *Broker) catchUp() error {
	ctx, cancel := context.WithTimeout(b.ctx, b.coord.SessionTimeout())
	defer cancel()
	if err := b.coord.Barrier(ctx); err != nil {
		return fmt.Errorf("catching up with the metadata after the lease ran out: %w", err)
	}
	b.replicas.Reconcile(b.coord.Metadata())
	b.log.Info("lease with the controller taken up again", "applied", b.coord.Metadata().AppliedIndex)
	return nil
}
