// Command progress reads `go test -json` on standard input and prints a
// line as each top-level test starts and ends, so that a package that runs
// for minutes shows where it is. A failed test's whole output follows its
// line; the package summaries (ok, FAIL, build errors) pass through. It
// exits 1 if any test or package failed.
//
//	go test -json ./test/... | go run ./test/progress
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
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
		case top && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
			fmt.Printf("%s  %s %s: %s (%.1fs)\n", time.Now().Format("15:04:05"), pkg, e.Test, e.Action, e.Elapsed)
			if e.Action == "fail" {
				failed = true
				fmt.Print(strings.Join(out[key], ""))
			}
			delete(out, key)
		}
	}
	if failed {
		return 1
	}
	return 0
}
