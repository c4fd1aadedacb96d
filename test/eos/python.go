package eos

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokafka/gokafka/test/harness"
)

// Confluent returns the job as one etl.py process (confluent-kafka, on
// librdkafka) from the virtual environment `make test-venv` makes, named by
// GOKAFKA_VENV. A process that exits on a fatal error is started again.
func Confluent(t *testing.T) Job {
	venv := os.Getenv("GOKAFKA_VENV")
	if venv == "" {
		t.Fatal("GOKAFKA_VENV is not set: run the suite with `make test` (or `make test-venv` and GOKAFKA_VENV=<its path>)")
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	py, script := filepath.Join(venv, "bin", "python3"), filepath.Join(root, "test", "eos", "etl.py")
	return func(ctx context.Context, t *testing.T, seeds []string, in, out, group string) {
		for ctx.Err() == nil {
			cmd := exec.Command(py, script, strings.Join(seeds, ","), in, out, group, group+"-0")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Errorf("starting etl.py: %v", err)
				return
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case <-ctx.Done():
				cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(20 * time.Second):
					cmd.Process.Kill()
					<-exited
				}
				t.Logf("etl.py said:\n%s", stderr.String())
				return
			case err := <-exited:
				t.Logf("etl.py exited (%v), starting it again; it said:\n%s", err, stderr.String())
				time.Sleep(500 * time.Millisecond)
			}
		}
	}
}
