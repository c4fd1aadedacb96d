package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/gokafka/gokafka/coordinator"
)

// register announces this broker and its advertised listeners to the
// controller, then keeps heartbeating so that the controller does not
// fence it.
func (b *Broker) register(ctx context.Context) error {
	reg := coordinator.BrokerRegistration{ID: b.cfg.NodeID, Rack: b.cfg.Rack}
	for _, l := range b.cfg.AdvertisedListeners {
		reg.Listeners = append(reg.Listeners, coordinator.Endpoint{Name: l.Name, Host: l.Host, Port: int32(l.Port)})
	}
	if err := b.coord.RegisterBroker(ctx, reg); err != nil {
		return fmt.Errorf("registering broker %d with the controller: %w", b.cfg.NodeID, err)
	}
	b.log.Info("registered with the controller", "node", b.cfg.NodeID)
	b.wg.Add(1)
	go b.heartbeatLoop(reg)
	return nil
}

func (b *Broker) heartbeatLoop(reg coordinator.BrokerRegistration) {
	defer b.wg.Done()
	t := time.NewTicker(b.coord.HeartbeatInterval())
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(b.ctx, b.coord.HeartbeatInterval())
		err := b.coord.Heartbeat(ctx, b.cfg.NodeID)
		cancel()
		if err != nil && b.ctx.Err() == nil {
			b.log.Warn("heartbeat to the controller failed", "err", err)
		}
	}
}
