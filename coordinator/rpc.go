package coordinator

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/protocol"
)

// Controller operations can be asked of any node. The active controller
// runs them; every other node forwards them over the controller listener
// (connection type connRPC) and, once the controller answers, waits until
// its own image has applied the change, so that the caller's next read of
// the metadata on this node sees it.
//
// Each operation travels as one of Kafka's own messages, framed as Kafka
// frames them (rpc_codec.go, rpc_messages.go; the layout is in doc.go).

const connRPC byte = 0x02

// rpcRequest is one controller operation.
type rpcRequest struct {
	Op           string
	Registration *BrokerRegistration
	BrokerID     int32
	Specs        []CreateTopicSpec
	ValidateOnly bool
	Names        []string
	Alters       []AlterPartition
	Addr         string // join: the non-voter's controller address
	Grow         []CreatePartitionsSpec
	Configs      map[string]string
	Elect        []PartitionRef
	Unclean      bool
	Applied      uint64 // heartbeat: the sender's applied index
	Reassign     []Reassignment
	ACLs         []auth.ACL       // create ACLs
	Filters      []auth.ACLFilter // delete ACLs
	ScramUpserts []ScramUpsertion
	ScramDeletes []ScramDeletion
}

// rpcResponse is the controller's answer. Code and Msg carry a whole-
// operation error; Results the per-topic outcomes.
type rpcResponse struct {
	Index   uint64 // Raft index of the change, 0 if none
	First   int64
	Count   int32
	Results []rpcResult
	// Partitions are per-partition outcomes (ElectLeaders).
	Partitions []PartitionResult
	Quorum     *QuorumState
	// Deleted are, per DeleteAcls filter, the ACLs it removed.
	Deleted [][]auth.ACL
	Code    int16
	Msg     string
}

type rpcResult struct {
	Name string
	ID   [16]byte
	Code int16
	Msg  string
}

const (
	rpcRegister           = "register"
	rpcHeartbeat          = "heartbeat"
	rpcShutdown           = "controlled_shutdown"
	rpcAllocateIDs        = "allocate_producer_ids"
	rpcCreateTopics       = "create_topics"
	rpcDeleteTopics       = "delete_topics"
	rpcAlterPartition     = "alter_partition"
	rpcJoin               = "join"
	rpcCreatePartitions   = "create_partitions"
	rpcAlterConfigs       = "alter_configs"
	rpcBarrier            = "barrier"
	rpcElectLeaders       = "elect_leaders"
	rpcDescribeQuorum     = "describe_quorum"
	rpcAlterBrokerConfigs = "alter_broker_configs"
	rpcReassign           = "reassign_partitions"
	rpcCreateACLs         = "create_acls"
	rpcDeleteACLs         = "delete_acls"
	rpcAlterScram         = "alter_scram"
	rpcDefaultDeadline    = 10 * time.Second
	// rpcMaxFrame bounds one controller frame. Decoding costs about 34
	// times a frame's size, so socket.request.max.bytes' 100 MiB would let
	// one frame cost gigabytes; the largest legitimate frame, a forwarded
	// CreateTopics at the 10,000-partition bound of one controller
	// operation, stays well under 8 MiB.
	rpcMaxFrame = 8 << 20
	// rpcReadChunk is the first buffer for a frame; it doubles as bytes
	// arrive, so that a size prefix alone books at most this much.
	rpcReadChunk = 64 << 10
)

// errResponse turns an error into a response carrying its Kafka code.
func errResponse(err error) rpcResponse {
	if err == nil {
		return rpcResponse{}
	}
	return rpcResponse{Code: int16(protocol.Code(err)), Msg: err.Error()}
}

func (r rpcResponse) err() error {
	if r.Code == 0 {
		return nil
	}
	return &protocol.Error{Code: protocol.ErrorCode(r.Code), Msg: r.Msg}
}

// handle runs req on this node, which must be the active controller.
func (c *Coordinator) handle(req *rpcRequest) rpcResponse {
	if err := req.check(); err != nil {
		return errResponse(err)
	}
	switch req.Op {
	case rpcRegister:
		return c.registerBroker(*req.Registration)
	case rpcHeartbeat:
		return c.heartbeat(req.BrokerID, req.Applied)
	case rpcShutdown:
		return c.controlledShutdown(req.BrokerID)
	case rpcAllocateIDs:
		return c.allocateProducerIDs(req.BrokerID)
	case rpcCreateTopics:
		return c.createTopics(req.Specs, req.ValidateOnly)
	case rpcDeleteTopics:
		return c.deleteTopics(req.Names)
	case rpcAlterPartition:
		return c.alterPartitions(req.Alters)
	case rpcJoin:
		return c.join(req.BrokerID, req.Addr)
	case rpcCreatePartitions:
		return c.createPartitions(req.Grow, req.ValidateOnly)
	case rpcAlterConfigs:
		return c.alterConfigs(req.Names[0], req.Configs)
	case rpcBarrier:
		return rpcResponse{Index: c.Metadata().AppliedIndex}
	case rpcElectLeaders:
		return c.electLeaders(req.Elect, req.Unclean)
	case rpcDescribeQuorum:
		return c.describeQuorum()
	case rpcAlterBrokerConfigs:
		return c.alterBrokerConfigs(req.Names[0], req.Configs)
	case rpcReassign:
		return c.alterReassignments(req.Reassign)
	case rpcCreateACLs:
		return c.createACLs(req.ACLs)
	case rpcDeleteACLs:
		return c.deleteACLs(req.Filters)
	case rpcAlterScram:
		return c.alterScram(req.ScramUpserts, req.ScramDeletes)
	}
	return errResponse(protocol.Errorf(protocol.InvalidRequest, "unknown controller operation %q", req.Op))
}

// Barrier waits until this node's image has applied everything the active
// controller had applied when asked (Raft's read index): after it, a read
// of the metadata here sees every change already acknowledged by any node.
// Admin requests use it, so that a topic created through one broker can be
// altered through another at once.
func (c *Coordinator) Barrier(ctx context.Context) error {
	_, err := c.call(ctx, &rpcRequest{Op: rpcBarrier})
	return err
}

// call runs req on the active controller, wherever it is, retrying while
// there is none or it moves, until ctx ends.
func (c *Coordinator) call(ctx context.Context, req *rpcRequest) (rpcResponse, error) {
	for {
		var resp rpcResponse
		var err error
		if c.ctrl.isActive() {
			resp = c.handle(req)
		} else {
			resp, err = c.forward(ctx, req)
		}
		if err == nil && resp.Code != int16(protocol.NotController) {
			if resp.Index > 0 {
				err = c.WaitApplied(ctx, resp.Index)
			}
			return resp, err
		}
		if err == nil {
			err = resp.err()
		}
		select {
		case <-ctx.Done():
			return rpcResponse{}, protocol.Errorf(protocol.NotController,
				"no active controller answered %s in time (last: %v)", req.Op, err)
		case <-c.done:
			return rpcResponse{}, errClosed
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// forwarder keeps one connection to the active controller; a node has two,
// one for heartbeats and one for everything else.
type forwarder struct {
	mu   sync.Mutex
	next int // voter to try next while no leader is known
	addr string
	nc   net.Conn
	r    *bufio.Reader
	// correlationID numbers requests on nc; an answer must carry its own.
	correlationID int32
	// connMu guards addr and nc for redirect too, which runs while a call
	// holds mu; writers hold both.
	connMu sync.Mutex
}

// setConn installs the connection to addr (nil: none), under connMu.
func (f *forwarder) setConn(nc net.Conn, addr string) {
	f.connMu.Lock()
	defer f.connMu.Unlock()
	f.nc, f.addr = nc, addr
}

// redirect closes the connection to a controller that is no longer the
// Raft leader: a call waiting on it, up to its deadline (30 s for an ISR
// change), fails at once and is retried toward the new controller.
func (f *forwarder) redirect(leader string) {
	f.connMu.Lock()
	defer f.connMu.Unlock()
	if f.nc != nil && f.addr != leader {
		f.nc.Close()
	}
}

// forward sends req to the Raft leader's controller listener. A transport
// error drops the connection; the caller retries.
func (c *Coordinator) forward(ctx context.Context, req *rpcRequest) (rpcResponse, error) {
	f := &c.fwd
	if req.Op == rpcHeartbeat {
		f = &c.hbFwd
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	addr, id := c.raft.LeaderWithID()
	if id == raft.ServerID(fmt.Sprint(c.cfg.NodeID)) {
		return rpcResponse{}, errors.New("this node leads Raft but its controller is not active yet")
	}
	if addr == "" {
		// Not (yet) a member that hears from the leader: ask the voters in
		// turn; the one that is the controller answers.
		f.next++
		addr = raft.ServerAddress(c.cfg.Voters[f.next%len(c.cfg.Voters)].Addr)
	}
	if f.nc != nil && f.addr != string(addr) {
		f.nc.Close()
		f.setConn(nil, "")
	}
	if f.nc == nil {
		nc, err := c.mux.dial(string(addr), connRPC, 2*time.Second)
		if err != nil {
			return rpcResponse{}, err
		}
		f.r = bufio.NewReader(nc)
		f.setConn(nc, string(addr))
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(rpcDefaultDeadline)
	}
	f.nc.SetDeadline(deadline)
	resp, err := f.roundTrip(req)
	if err != nil {
		f.nc.Close()
		f.setConn(nil, "")
		return rpcResponse{}, fmt.Errorf("controller at %s: %w", addr, err)
	}
	return resp, nil
}

// roundTrip sends req as its Kafka message and reads the answer.
func (f *forwarder) roundTrip(req *rpcRequest) (rpcResponse, error) {
	op, ok := rpcOps[req.Op]
	if !ok {
		return rpcResponse{}, fmt.Errorf("no wire form for controller operation %q", req.Op)
	}
	kreq := op.request(req)
	f.correlationID++
	if _, err := f.nc.Write(appendRPCRequest(nil, f.correlationID, kreq)); err != nil {
		return rpcResponse{}, err
	}
	frame, err := readRPCFrame(f.r)
	if err != nil {
		return rpcResponse{}, err
	}
	var resp rpcResponse
	corr, body, err := parseRPCResponse(frame, &resp)
	switch {
	case err != nil:
		return rpcResponse{}, err
	case corr != f.correlationID:
		return rpcResponse{}, fmt.Errorf("%w: correlation id %d, want %d", errRPCFrame, corr, f.correlationID)
	case resp.Code != 0:
		return resp, nil // the error is the answer; a body adds nothing
	}
	kresp := kreq.ResponseKind()
	if err := kresp.ReadFrom(body); err != nil {
		return rpcResponse{}, fmt.Errorf("%w: %s: %v", errRPCFrame, kmsg.NameForKey(kreq.Key()), err)
	}
	return resp, op.result(kresp, &resp)
}

// serveRPC answers forwarded operations on one connection, in order. A
// frame that cannot be read closes the connection; one that can gets an
// answer, an error code when it asks for something malformed or unknown.
// A panic is a bug: it is logged with its stack and costs only this
// connection, never the process.
func (c *Coordinator) serveRPC(nc net.Conn) {
	defer nc.Close()
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("BUG: controller rpc panicked; closing the connection",
				"remote", nc.RemoteAddr().String(), "panic", p, "stack", string(debug.Stack()))
		}
	}()
	r := bufio.NewReader(nc)
	var out []byte
	for {
		if idle := c.cfg.ConnectionsMaxIdle; idle > 0 {
			nc.SetReadDeadline(time.Now().Add(idle))
		}
		frame, err := readRPCFrame(r)
		if err == nil {
			out, err = c.answer(out[:0], frame)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.log.Warn("controller rpc: closing connection", "remote", nc.RemoteAddr().String(), "err", err)
			}
			return
		}
		if _, err := nc.Write(out); err != nil {
			return
		}
	}
}

// answer appends the response to one request frame.
func (c *Coordinator) answer(dst, frame []byte) ([]byte, error) {
	corr, req, err := decodeRPCRequest(frame)
	switch {
	case errors.Is(err, errRPCFrame):
		return nil, err
	case err != nil:
		resp := errResponse(err)
		return appendRPCResponse(dst, corr, &resp, nil), nil
	}
	resp := errResponse(notController(c))
	if c.ctrl.isActive() {
		resp = c.handle(req)
	}
	return appendRPCResponse(dst, corr, &resp, rpcOps[req.Op].respond(req, &resp)), nil
}

// BrokerRegistration is what a broker announces when it starts.
type BrokerRegistration struct {
	ID        int32
	Listeners []Endpoint
	Rack      string
}

// RegisterBroker records a (re)started broker and unfences it.
func (c *Coordinator) RegisterBroker(ctx context.Context, r BrokerRegistration) error {
	_, err := c.call(ctx, &rpcRequest{Op: rpcRegister, Registration: &r})
	return err
}

// Heartbeat keeps broker id's session alive, unfencing it if it was fenced.
// A controller answers its own broker's heartbeat without Raft, so a node
// that was paused or cut off while it was the controller would still
// answer it, with its old state, until Raft deposes it: then its answer
// counts only once the quorum confirms that it still leads.
func (c *Coordinator) Heartbeat(ctx context.Context, id int32) error {
	local := c.ctrl.isActive()
	resp, err := c.call(ctx, &rpcRequest{Op: rpcHeartbeat, BrokerID: id, Applied: c.Metadata().AppliedIndex})
	if err == nil {
		err = resp.err()
	}
	if err == nil && local {
		if verr := c.raft.VerifyLeader().Error(); verr != nil {
			err = protocol.Errorf(protocol.NotController, "node %d answered its own heartbeat but no longer leads: %v", c.cfg.NodeID, verr)
		}
	}
	return err
}

// ControlledShutdown moves broker id's leaderships to other ISR members and
// takes it out of every ISR, before it stops.
func (c *Coordinator) ControlledShutdown(ctx context.Context, id int32) error {
	resp, err := c.call(ctx, &rpcRequest{Op: rpcShutdown, BrokerID: id})
	if err == nil {
		err = resp.err()
	}
	return err
}

// AllocateProducerIDs hands out the next block of producer ids.
func (c *Coordinator) AllocateProducerIDs(ctx context.Context, brokerID int32) (first int64, count int32, err error) {
	resp, err := c.call(ctx, &rpcRequest{Op: rpcAllocateIDs, BrokerID: brokerID})
	if err == nil {
		err = resp.err()
	}
	if err != nil {
		return -1, 0, err
	}
	return resp.First, resp.Count, nil
}

// CreateTopics creates the topics that pass validation, in one command.
// With validateOnly nothing is committed, but each result is what creating
// would have produced.
func (c *Coordinator) CreateTopics(ctx context.Context, specs []CreateTopicSpec, validateOnly bool) []TopicResult {
	resp, err := c.call(ctx, &rpcRequest{Op: rpcCreateTopics, Specs: specs, ValidateOnly: validateOnly})
	return topicResults(names(specs, func(s CreateTopicSpec) string { return s.Name }), resp, err)
}

// DeleteTopics deletes the named topics in one command.
func (c *Coordinator) DeleteTopics(ctx context.Context, names []string) []TopicResult {
	resp, err := c.call(ctx, &rpcRequest{Op: rpcDeleteTopics, Names: names})
	return topicResults(names, resp, err)
}

// AlterPartitions asks the controller to change the ISRs of partitions
// this broker leads, all in one request (at most MaxAlterPartitions). A
// change counts only once committed; the new state arrives through the
// metadata. errs holds each change's outcome, in order; err is the
// request's own failure, when no change's outcome is known.
func (c *Coordinator) AlterPartitions(ctx context.Context, alters []AlterPartition) (errs []error, err error) {
	resp, err := c.call(ctx, &rpcRequest{Op: rpcAlterPartition, Alters: alters})
	if err == nil {
		err = resp.err()
	}
	if err == nil && len(resp.Partitions) != len(alters) {
		err = fmt.Errorf("the controller answered %d of %d ISR changes", len(resp.Partitions), len(alters))
	}
	if err != nil {
		return nil, err
	}
	errs = make([]error, len(alters))
	for i, r := range resp.Partitions {
		if r.Code != 0 {
			errs[i] = &protocol.Error{Code: protocol.ErrorCode(r.Code), Msg: r.Msg}
		}
	}
	return errs, nil
}

// names lists the topic names of a request's specs.
func names[S any](specs []S, name func(S) string) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = name(s)
	}
	return out
}

// topicResults maps a response to one result per requested name; a whole-
// operation failure becomes every topic's error.
func topicResults(names []string, resp rpcResponse, err error) []TopicResult {
	if err == nil {
		err = resp.err()
	}
	out := make([]TopicResult, len(names))
	for i, name := range names {
		out[i].Name = name
		switch {
		case err != nil:
			out[i].Err = err
		case i < len(resp.Results):
			r := resp.Results[i]
			out[i].ID = r.ID
			if r.Code != 0 {
				out[i].Err = &protocol.Error{Code: protocol.ErrorCode(r.Code), Msg: r.Msg}
			}
		}
	}
	return out
}
