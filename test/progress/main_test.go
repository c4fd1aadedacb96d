package main

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

func TestMessagesLeaveOutNodeLogs(t *testing.T) {
	lines := []string{
		"=== RUN   TestX\n",
		"    x_test.go:10: created 3 topics\n",
		"    x_test.go:20: AdminTest failed (exit status 1):\n",
		"        [ERROR] Failures:\n",
		"        [ERROR]   AdminTest.createPartitions expected: <4> but was: <3>\n",
		"    testing.go:131: node 1 log tail:\n",
		"        time=... level=INFO msg=\"partition state\"\n",
		"--- FAIL: TestX (1.0s)\n",
	}
	got := strings.Join(messages(lines), "\n")
	for _, want := range []string{"AdminTest failed", "expected: <4> but was: <3>"} {
		if !strings.Contains(got, want) {
			t.Errorf("recap lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "partition state") || strings.Contains(got, "log tail") {
		t.Errorf("recap keeps a node log:\n%s", got)
	}
}

func TestRunRecapsFailures(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestA/sub","Output":"    a_test.go:5: boom\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestA/sub"}`,
		`{"Action":"fail","Package":"p","Test":"TestA","Elapsed":1}`,
		`{"Action":"fail","Package":"p"}`,
	}, "\n")
	r, w, _ := os.Pipe()
	stdout := os.Stdout
	os.Stdout = w
	code := run(bufio.NewScanner(strings.NewReader(in)))
	w.Close()
	os.Stdout = stdout
	var sb strings.Builder
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		sb.WriteString(sc.Text() + "\n")
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	_, recap, ok := strings.Cut(sb.String(), "--- what failed:")
	if !ok || !strings.Contains(recap, "TestA/sub") || !strings.Contains(recap, "a_test.go:5: boom") {
		t.Errorf("no recap of TestA/sub's message:\n%s", sb.String())
	}
}
