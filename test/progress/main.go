// Command progress reads `go test -json` on standard input and prints a
// line as each top-level test starts and ends, so that a package that runs
// for minutes shows where it is. A failed test's whole output follows its
// line; the package summaries (ok, FAIL, build errors) pass through. At
// the end it repeats each failed test's own messages, without the node
// logs that follow them, so that the last screen of a CI log says what
// broke. It exits 1 if any test or package failed.
//
//	go test -json ./test/... | go run ./test/progress
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
)

// event is one line of test2json's output.
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

func main() {
	os.Exit(run(bufio.NewScanner(os.Stdin)))
}

func run(in *bufio.Scanner) int {
	in.Buffer(make([]byte, 1<<20), 16<<20)
	out := map[string][]string{} // a running test's output, by package and test
	failed := false
	var recap []string // the failed tests' messages, for the end
	for in.Scan() {
		var e event
		if err := json.Unmarshal(in.Bytes(), &e); err != nil {
			fmt.Println(in.Text()) // not test2json: go test's own complaint
			continue
		}
		pkg := strings.TrimPrefix(e.Package, "github.com/gokafka/gokafka/")
		top := e.Test != "" && !strings.Contains(e.Test, "/")
		key := e.Package + " " + e.Test
		switch {
		case e.Test == "" && e.Action == "output":
			// Package lines: build errors, panics outside tests, ok/FAIL.
			if !strings.HasPrefix(e.Output, "=== ") && !strings.HasPrefix(e.Output, "PASS") {
				fmt.Print(e.Output)
			}
		case e.Test == "" && e.Action == "fail":
			failed = true
		case e.Action == "output" && e.Test != "":
			root, _, _ := strings.Cut(e.Test, "/")
			out[e.Package+" "+root] = append(out[e.Package+" "+root], e.Output)
		case top && e.Action == "run":
			fmt.Printf("%s  %s %s ...\n", time.Now().Format("15:04:05"), pkg, e.Test)
		case e.Test != "" && !top && e.Action == "fail":
			recap = append(recap, fmt.Sprintf("%s %s", pkg, e.Test)) // a subtest: named, its lines go with its root's
		case top && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
			fmt.Printf("%s  %s %s: %s (%.1fs)\n", time.Now().Format("15:04:05"), pkg, e.Test, e.Action, e.Elapsed)
			if e.Action == "fail" {
				failed = true
				fmt.Print(strings.Join(out[key], ""))
				recap = append(recap, fmt.Sprintf("%s %s", pkg, e.Test))
				recap = append(recap, messages(out[key])...)
			}
			delete(out, key)
		}
	}
	if failed {
		if len(recap) > 0 {
			fmt.Println("--- what failed:")
			fmt.Println(strings.Join(recap, "\n"))
		}
		return 1
	}
	return 0
}

// located matches the first line of a t.Log/t.Error/t.Fatal message.
var located = regexp.MustCompile(`^\s+[\w.-]+\.go:\d+: `)

// noise are messages the harness logs on any failure: node logs and
// whole tool outputs, useful above but not in a recap.
var noise = []string{"log tail:", "full log:", "mvn -"}

// messages picks a failed test's located messages, each with at most 12
// continuation lines, leaving out the noise.
func messages(lines []string) []string {
	var keep []string
	cont := -1 // continuation lines still to keep; -1 outside a kept message
	for _, l := range lines {
		l = strings.TrimRight(l, "\n")
		switch {
		case located.MatchString(l):
			cont = -1
			if !containsAny(l, noise) {
				keep, cont = append(keep, l), 12
			}
		case strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- "):
			cont = -1
		case cont > 0:
			keep, cont = append(keep, l), cont-1
		}
	}
	return keep
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
