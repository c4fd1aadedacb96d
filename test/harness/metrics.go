package harness

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Metric scrapes the node's /metrics and sums the samples of the named
// metric whose labels include every given `key="value"` pair, so that a
// test reads a figure the way an operator's query would. found is false
// when no sample matched.
func (n *Node) Metric(name string, labels ...string) (sum float64, found bool, err error) {
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + n.HTTPAddr + "/metrics")
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("node %d /metrics: %s", n.ID, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		series, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		metric, labelText, _ := strings.Cut(series, "{")
		if metric != name || !hasLabels(labelText, labels) {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return 0, false, fmt.Errorf("node %d: %q: %v", n.ID, line, err)
		}
		sum, found = sum+v, true
	}
	return sum, found, sc.Err()
}

func hasLabels(text string, want []string) bool {
	for _, l := range want {
		if !strings.Contains(text, l) {
			return false
		}
	}
	return true
}

// Readyz returns the status code and body of the node's /readyz.
func (n *Node) Readyz() (int, string, error) {
	hc := &http.Client{Timeout: 2 * time.Second}
	resp, err := hc.Get("http://" + n.HTTPAddr + "/readyz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, err = bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.StatusCode, strings.TrimSpace(b.String()), err
}
