package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

type groupRow struct {
	Name, State, Protocol string
	Members               int
	Err                   string
}

type groupsView struct {
	Pager pager
	Rows  []groupRow
}

// groupsPage lists groups matching the filter; only the page's groups are
// described.
func (c *Console) groupsPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	pg, page, ok := c.listPage(ctx, w, r, s, "groups", func() ([]string, error) {
		listed, err := s.adm.ListGroups(ctx)
		return listed.Groups(), err
	})
	if !ok {
		return
	}
	v := groupsView{Pager: pg}
	if len(page) > 0 {
		described, err := s.adm.DescribeGroups(ctx, page...)
		if err != nil {
			c.fail(w, r, "groups", s, v, err)
			return
		}
		for _, n := range page {
			d := described[n]
			row := groupRow{Name: n, State: d.State, Protocol: d.Protocol, Members: len(d.Members)}
			if d.Err != nil {
				row.Err = d.Err.Error()
			}
			v.Rows = append(v.Rows, row)
		}
	}
	c.render(w, r, http.StatusOK, "groups", s, v, "")
}

type memberRow struct {
	ID, ClientID, Host string
	Assigned           string // topic: partitions, ...
}

type lagRow struct {
	Topic     string
	Partition int32
	Commit    int64
	End       int64
	Lag       int64 // -1: unknown
	Member    string
	Err       string
}

type groupView struct {
	Name, State, Protocol string
	Members               []memberRow
	Lag                   []lagRow
	TotalLag              int64
	Topics                []string // topics with commits, for the reset form
}

// groupPage shows one group: its members and what each is assigned, and
// its committed offsets with the lag of each partition.
func (c *Console) groupPage(w http.ResponseWriter, r *http.Request, s *session) {
	name, err := groupID(r.URL.Query(), "name")
	if err != nil {
		c.fail(w, r, "group", s, groupView{}, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	lags, err := s.adm.Lag(ctx, name)
	if err == nil {
		d := lags[name]
		err = d.Error()
	}
	if err != nil {
		c.fail(w, r, "group", s, groupView{Name: name}, err)
		return
	}
	d := lags[name]
	v := groupView{Name: name, State: d.State, Protocol: d.Protocol}
	for _, m := range d.Members {
		v.Members = append(v.Members, memberRow{ID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost, Assigned: assigned(m)})
	}
	for _, l := range d.Lag.Sorted() {
		row := lagRow{Topic: l.Topic, Partition: l.Partition, Commit: l.Commit.At, End: l.End.Offset, Lag: l.Lag}
		if l.Member != nil {
			row.Member = l.Member.ClientID + " " + l.Member.MemberID
		}
		if l.Err != nil {
			row.Err = l.Err.Error()
		}
		if l.Lag > 0 {
			v.TotalLag += l.Lag
		}
		v.Lag = append(v.Lag, row)
		if !slices.Contains(v.Topics, l.Topic) {
			v.Topics = append(v.Topics, l.Topic)
		}
	}
	c.render(w, r, http.StatusOK, "group", s, v, "")
}

func assigned(m kadm.DescribedGroupMember) string {
	ca, ok := m.Assigned.AsConsumer()
	if !ok {
		return ""
	}
	var parts []string
	for _, t := range ca.Topics {
		parts = append(parts, fmt.Sprintf("%s: %v", t.Topic, strings.Trim(fmt.Sprint(t.Partitions), "[]")))
	}
	return strings.Join(parts, "; ")
}

// resetOffsets commits new offsets for every partition of one topic, as
// kafka-consumer-groups.sh --reset-offsets --execute does, and like it only
// when the group has no members.
func (c *Console) resetOffsets(w http.ResponseWriter, r *http.Request, s *session) {
	q, err := parseReset(r.PostForm)
	if err == nil {
		err = c.reset(r.Context(), s.adm, q)
	}
	if err != nil {
		c.fail(w, r, "group", s, groupView{Name: q.Group}, fmt.Errorf("resetting offsets of %s on %s: %w", q.Group, q.Topic, err))
		return
	}
	c.log.Info("console reset offsets", "group", q.Group, "topic", q.Topic, "to", q.To, "value", q.Value, "user", s.user)
	done(w, r, url.URL{Path: "/console/group", RawQuery: url.Values{"name": {q.Group}}.Encode()}, "reset")
}

func (c *Console) reset(ctx context.Context, adm *kadm.Client, q resetQuery) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	described, err := adm.DescribeGroups(ctx, q.Group)
	if err != nil {
		return err
	}
	if d := described[q.Group]; d.Err != nil {
		return d.Err
	} else if len(d.Members) > 0 {
		return inputErr("group %s has %d active members (state %s): stop its consumers first", q.Group, len(d.Members), d.State)
	}
	var listed kadm.ListedOffsets
	switch q.To {
	case "earliest":
		listed, err = adm.ListStartOffsets(ctx, q.Topic)
	case "latest":
		listed, err = adm.ListEndOffsets(ctx, q.Topic)
	case "timestamp":
		listed, err = adm.ListOffsetsAfterMilli(ctx, q.Value, q.Topic)
	case "offset":
		listed, err = adm.ListEndOffsets(ctx, q.Topic) // the partitions, and the bound of each
	}
	if err != nil {
		return err
	}
	if err := listed.Error(); err != nil {
		return err
	}
	if len(listed[q.Topic]) == 0 {
		return inputErr("topic %s has no partitions", q.Topic)
	}
	offsets := kadm.Offsets{}
	for _, lo := range listed[q.Topic] {
		at := lo.Offset
		if q.To == "offset" {
			at = min(q.Value, lo.Offset) // past the end would be out of range
		}
		offsets.Add(kadm.Offset{Topic: q.Topic, Partition: lo.Partition, At: at, LeaderEpoch: -1})
	}
	resp, err := adm.CommitOffsets(ctx, q.Group, offsets)
	if err != nil {
		return err
	}
	return errors.Join(resp.Error())
}
