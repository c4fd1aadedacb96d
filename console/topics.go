package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

type topicRow struct {
	Name            string
	Internal        bool
	Partitions      int
	Replication     int
	UnderReplicated int
	Offline         int
	Size            int64 // bytes on disk, every replica counted
}

type topicsView struct {
	Pager   pager
	Rows    []topicRow
	SizeErr string
}

// topicsPage lists the topics matching the filter, one page at a time:
// the names come from one Metadata request, while DescribeLogDirs asks
// only for the page's topics, so a cluster of 10,000 partitions costs the
// page what 50 topics cost.
func (c *Console) topicsPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	var all kadm.TopicDetails
	pg, page, ok := c.listPage(ctx, w, r, s, "topics", func() (names []string, err error) {
		all, err = s.adm.ListTopicsWithInternal(ctx)
		return all.Names(), err
	})
	if !ok {
		return
	}
	v := topicsView{Pager: pg}
	set := kadm.TopicsSet{}
	for _, n := range page {
		d := all[n]
		row := topicRow{Name: n, Internal: d.IsInternal, Partitions: len(d.Partitions)}
		for _, p := range d.Partitions {
			set.Add(n, p.Partition)
			row.Replication = max(row.Replication, len(p.Replicas))
			if len(p.ISR) < len(p.Replicas) {
				row.UnderReplicated++
			}
			if p.Leader < 0 {
				row.Offline++
			}
		}
		v.Rows = append(v.Rows, row)
	}
	if len(set) > 0 {
		dirs, err := s.adm.DescribeAllLogDirs(ctx, set)
		if err != nil {
			v.SizeErr = err.Error()
		}
		sizes := map[string]int64{}
		dirs.Each(func(d kadm.DescribedLogDir) {
			for t, ps := range d.Topics {
				for _, p := range ps {
					sizes[t] += p.Size
				}
			}
		})
		for i := range v.Rows {
			v.Rows[i].Size = sizes[v.Rows[i].Name]
		}
	}
	c.render(w, r, http.StatusOK, "topics", s, v, "")
}

type partitionRow struct {
	Partition       int32
	Leader          int32
	Epoch           int32
	Replicas, ISR   []int32
	Start, End      int64
	Size            int64 // the leader's replica
	UnderReplicated bool
	Err             string
}

type topicView struct {
	Name       string
	Internal   bool
	Count      int
	Pager      pager
	Partitions []partitionRow
	Configs    []kadm.Config
	ConfigErr  string
}

// topicPage shows one topic: a page of its partitions with leaders, ISR,
// offsets and sizes, and its configs.
func (c *Console) topicPage(w http.ResponseWriter, r *http.Request, s *session) {
	qv := r.URL.Query()
	name, err := topicName(qv, "name")
	if err != nil {
		c.fail(w, r, "topic", s, topicView{}, err)
		return
	}
	pg, err := number(qv, "page", 1, maxPage, 1)
	if err != nil {
		c.fail(w, r, "topic", s, topicView{Name: name}, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	md, err := s.adm.ListTopicsWithInternal(ctx, name)
	// The page a create redirects to may ask a broker that has not yet
	// applied the creation: a broker applies a change a few ms after the
	// one that answered it, as Kafka's do. Such a page asks again.
	for qv.Get("notice") == "created" && err == nil && errors.Is(md[name].Err, kerr.UnknownTopicOrPartition) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		md, err = s.adm.ListTopicsWithInternal(ctx, name)
	}
	if err == nil {
		err = md[name].Err
	}
	if err != nil {
		c.fail(w, r, "topic", s, topicView{Name: name}, err)
		return
	}
	d := md[name]
	v := topicView{Name: name, Internal: d.IsInternal, Count: len(d.Partitions), Pager: paginate(len(d.Partitions), int(pg), partitionPageSize)}
	parts := d.Partitions.Sorted()[v.Pager.From:v.Pager.To]
	starts, _ := s.adm.ListStartOffsets(ctx, name)
	ends, _ := s.adm.ListEndOffsets(ctx, name)
	set := kadm.TopicsSet{}
	for _, p := range parts {
		set.Add(name, p.Partition)
	}
	dirs, _ := s.adm.DescribeAllLogDirs(ctx, set)
	for _, p := range parts {
		row := partitionRow{Partition: p.Partition, Leader: p.Leader, Epoch: p.LeaderEpoch, Replicas: p.Replicas, ISR: p.ISR,
			Start: -1, End: -1, UnderReplicated: len(p.ISR) < len(p.Replicas)}
		if p.Err != nil {
			row.Err = p.Err.Error()
		}
		if o, ok := starts.Lookup(name, p.Partition); ok && o.Err == nil {
			row.Start = o.Offset
		}
		if o, ok := ends.Lookup(name, p.Partition); ok && o.Err == nil {
			row.End = o.Offset
		}
		if ld, ok := dirs[p.Leader].LookupPartition(name, p.Partition); ok {
			row.Size = ld.Size
		}
		v.Partitions = append(v.Partitions, row)
	}
	cfgs, err := s.adm.DescribeTopicConfigs(ctx, name)
	if err == nil && len(cfgs) == 1 {
		err = cfgs[0].Err
		v.Configs = cfgs[0].Configs
		slices.SortFunc(v.Configs, func(a, b kadm.Config) int { return strings.Compare(a.Key, b.Key) })
	}
	if err != nil {
		v.ConfigErr = err.Error()
	}
	c.render(w, r, http.StatusOK, "topic", s, v, "")
}

func topicURL(name string) url.URL {
	return url.URL{Path: "/console/topic", RawQuery: url.Values{"name": {name}}.Encode()}
}

// The changes below answer with the Kafka error the broker gave (ACLs
// included) in a page, or redirect to the changed topic with a notice.

func (c *Console) createTopic(w http.ResponseWriter, r *http.Request, s *session) {
	q, err := parseCreate(r.PostForm)
	if err == nil {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		var resp kadm.CreateTopicResponse
		resp, err = s.adm.CreateTopic(ctx, q.Partitions, q.Replication, nil, q.Topic)
		err = errors.Join(err, respErr(resp.Err, resp.ErrMessage))
	}
	if err != nil {
		c.fail(w, r, "topics", s, topicsView{}, fmt.Errorf("creating topic %s: %w", q.Topic, err))
		return
	}
	c.log.Info("console created topic", "topic", q.Topic, "user", s.user)
	done(w, r, topicURL(q.Topic), "created")
}

func (c *Console) addPartitions(w http.ResponseWriter, r *http.Request, s *session) {
	name, err := topicName(r.PostForm, "topic")
	var total int64
	if err == nil {
		total, err = number(r.PostForm, "total", 1, maxPartitions, 0)
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		var resp kadm.CreatePartitionsResponses
		resp, err = s.adm.UpdatePartitions(ctx, int(total), name)
		if err == nil {
			pr := resp[name]
			err = respErr(pr.Err, pr.ErrMessage)
		}
	}
	if err != nil {
		c.fail(w, r, "topic", s, topicView{Name: name}, fmt.Errorf("adding partitions to %s: %w", name, err))
		return
	}
	c.log.Info("console set partition count", "topic", name, "partitions", total, "user", s.user)
	done(w, r, topicURL(name), "partitions")
}

func (c *Console) alterConfig(w http.ResponseWriter, r *http.Request, s *session) {
	q, err := parseConfig(r.PostForm)
	if err == nil {
		ac := kadm.AlterConfig{Op: kadm.SetConfig, Name: q.Key, Value: &q.Value}
		if q.Delete {
			ac = kadm.AlterConfig{Op: kadm.DeleteConfig, Name: q.Key}
		}
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		var resp kadm.AlterConfigsResponses
		resp, err = s.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{ac}, q.Topic)
		for _, ar := range resp {
			err = errors.Join(err, respErr(ar.Err, ar.ErrMessage))
		}
	}
	if err != nil {
		c.fail(w, r, "topic", s, topicView{Name: q.Topic}, fmt.Errorf("altering config of %s: %w", q.Topic, err))
		return
	}
	c.log.Info("console altered topic config", "topic", q.Topic, "key", q.Key, "delete", q.Delete, "user", s.user)
	done(w, r, topicURL(q.Topic), "config")
}

// deleteTopic requires the name typed again, as confirmation.
func (c *Console) deleteTopic(w http.ResponseWriter, r *http.Request, s *session) {
	name, err := topicName(r.PostForm, "topic")
	if err == nil && r.PostForm.Get("confirm") != name {
		err = inputErr("type the topic's name to confirm its deletion")
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		var resp kadm.DeleteTopicResponse
		resp, err = s.adm.DeleteTopic(ctx, name)
		err = errors.Join(err, respErr(resp.Err, resp.ErrMessage))
	}
	if err != nil {
		c.fail(w, r, "topic", s, topicView{Name: name}, fmt.Errorf("deleting topic %s: %w", name, err))
		return
	}
	c.log.Info("console deleted topic", "topic", name, "user", s.user)
	done(w, r, url.URL{Path: "/console/topics"}, "deleted")
}

// respErr joins a Kafka error code's error with the broker's message.
func respErr(err error, msg string) error {
	if err == nil || msg == "" {
		return err
	}
	return fmt.Errorf("%w: %s", err, msg)
}
