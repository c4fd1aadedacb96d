package harness

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Reserved ports are taken for the whole process and refused to every
// other one, as test packages run side by side in separate processes.
func TestFreePortsAreReservedAcrossProcesses(t *testing.T) {
	if list := os.Getenv("GOKAFKA_RESERVED_PORTS"); list != "" {
		for _, p := range strings.Split(list, ",") {
			port, _ := strconv.Atoi(p)
			if reservePort(port) {
				t.Errorf("port %d, reserved by the parent process, was reserved again", port)
			}
		}
		return
	}
	ports, err := FreePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	more, err := FreePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	for _, p := range append(ports, more...) {
		list = append(list, strconv.Itoa(p))
	}
	seen := map[string]bool{}
	for _, p := range list {
		if seen[p] {
			t.Fatalf("port %s handed out twice", p)
		}
		seen[p] = true
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestFreePortsAreReservedAcrossProcesses$")
	cmd.Env = append(os.Environ(), "GOKAFKA_RESERVED_PORTS="+strings.Join(list, ","))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
}
