package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// nodeIPs stand in for three EC2 private addresses: all of 127/8 is
// loopback on Linux, so each node binds its own address on Kafka's ports.
var nodeIPs = []string{"127.0.77.11", "127.0.77.12", "127.0.77.13"}

// TestTerraformModule checks deploy/terraform as far as this machine can:
// terraform fmt over everything; init and validate of the root module and
// the example when the AWS provider can be had (registry.terraform.io is
// not reachable from here, so this says so); and, offline, the node-config
// module every node's user_data comes from: rendered for three addresses,
// its server.properties start three real gokafka-server processes that form
// a cluster and serve an RF 3 topic.
func TestTerraformModule(t *testing.T) {
	tf := terraformBinary(t)
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	mod := filepath.Join(root, "deploy", "terraform")
	terraform(t, tf, mod, "fmt", "-recursive", "-check", "-diff")

	for _, dir := range []string{mod, filepath.Join(mod, "examples", "three-nodes")} {
		if out, err := terraformErr(t, tf, dir, "init", "-backend=false", "-input=false", "-no-color"); err != nil {
			if !strings.Contains(out, "registry.terraform.io") {
				t.Fatalf("terraform init in %s: %v\n%s", dir, err, out)
			}
			t.Logf("%s: not validated: the AWS provider cannot be downloaded here (registry.terraform.io unreachable)", dir)
			continue
		}
		terraform(t, tf, dir, "validate", "-no-color")
	}

	props, userData := renderNodeConfig(t, tf, filepath.Join(mod, "modules", "node-config"))
	unit, err := os.ReadFile(filepath.Join(root, "deploy", "systemd", "gokafka.service"))
	if err != nil {
		t.Fatal(err)
	}
	for i, ud := range userData {
		if !strings.Contains(ud, props[i]) || !strings.Contains(ud, string(unit)) {
			t.Errorf("node %d: user_data does not install its server.properties and deploy/systemd's unit", i+1)
		}
		if out, err := exec.Command("bash", "-n", "-c", ud).CombinedOutput(); err != nil {
			t.Errorf("node %d: user_data is not valid bash: %v\n%s", i+1, err, out)
		}
	}
	startRenderedCluster(t, props)
}

// renderNodeConfig applies a root module that only calls node-config (no
// provider, no resources) and returns its two outputs.
func renderNodeConfig(t *testing.T, tf, moduleDir string) (props, userData []string) {
	dir := t.TempDir()
	// A relative source keeps the module in place (an absolute one is
	// copied, which would cut it off from deploy/systemd).
	rel, err := filepath.Rel(dir, moduleDir)
	if err != nil {
		t.Fatal(err)
	}
	ips, _ := json.Marshal(nodeIPs)
	main := fmt.Sprintf(`module "cfg" {
  source     = %q
  node_ips   = %s
  volume_ids = ["vol-01", "vol-02", "vol-03"]
  binary_url = "https://example.com/gokafka-server"
}
output "props" { value = module.cfg.server_properties }
output "user_data" { value = module.cfg.user_data }
`, rel, ips)
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	terraform(t, tf, dir, "init", "-backend=false", "-input=false", "-no-color")
	terraform(t, tf, dir, "apply", "-auto-approve", "-input=false", "-no-color")
	var out struct {
		Props    struct{ Value []string } `json:"props"`
		UserData struct{ Value []string } `json:"user_data"`
	}
	if err := json.Unmarshal([]byte(terraform(t, tf, dir, "output", "-json")), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Props.Value) != 3 || len(out.UserData.Value) != 3 {
		t.Fatalf("rendered %d server.properties and %d user_data, want 3 each", len(out.Props.Value), len(out.UserData.Value))
	}
	return out.Props.Value, out.UserData.Value
}

// startRenderedCluster runs gokafka-server on each rendered file, with only
// the data directory moved under the test's temp dir, and checks that the
// three form one cluster.
func startRenderedCluster(t *testing.T, props []string) {
	bin := harness.Binary(t)
	for i, p := range props {
		dir := t.TempDir()
		p = strings.ReplaceAll(p, "/var/lib/gokafka", dir)
		path := filepath.Join(dir, "server.properties")
		if err := os.WriteFile(path, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
		startProcess(t, fmt.Sprintf("node %d", i+1), filepath.Join(dir, "stderr.log"), bin, "--config", path)
	}
	hc := &http.Client{Timeout: time.Second}
	for _, ip := range nodeIPs {
		harness.WaitFor(t, "node at "+ip+" ready", 30*time.Second, func() bool {
			resp, err := hc.Get("http://" + ip + ":9644/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
	seeds := make([]string, len(nodeIPs))
	for i, ip := range nodeIPs {
		seeds[i] = ip + ":9092"
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 3, 3, nil, "rendered"); err != nil {
		t.Fatal(err)
	}
	harness.WaitFor(t, "an RF 3 topic with three in-sync replicas on every partition", 20*time.Second, func() bool {
		md, err := adm.Metadata(ctx, "rendered")
		if err != nil || len(md.Brokers) != 3 {
			return false
		}
		for _, p := range md.Topics["rendered"].Partitions {
			if len(p.ISR) != 3 {
				return false
			}
		}
		return len(md.Topics["rendered"].Partitions) == 3
	})
}

// terraformBinary is terraform from PATH or, failing that, Terraform 1.5.7
// (the last MPL release) built from the Go module proxy into the user's
// cache, once.
func terraformBinary(t *testing.T) string {
	if p, err := exec.LookPath("terraform"); err == nil {
		return p
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(cache, "gokafka-test", "terraform-1.5.7")
	if _, err := os.Stat(filepath.Join(bin, "terraform")); err == nil {
		return filepath.Join(bin, "terraform")
	}
	cmd := exec.Command("go", "install", "github.com/hashicorp/terraform@v1.5.7")
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("no terraform on PATH, and building it from the module proxy failed: %v\n%s", err, tail(string(out), 20))
	}
	return filepath.Join(bin, "terraform")
}

// tfData keeps each directory's .terraform outside the checkout, one per
// directory so that apply finds what init installed.
var tfData = map[string]string{}

func terraformErr(t *testing.T, tf, dir string, args ...string) (string, error) {
	if tfData[dir] == "" {
		tfData[dir] = filepath.Join(t.TempDir(), ".terraform")
	}
	cmd := exec.Command(tf, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null", "TF_IN_AUTOMATION=1", "TF_DATA_DIR="+tfData[dir])
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func terraform(t *testing.T, tf, dir string, args ...string) string {
	t.Helper()
	out, err := terraformErr(t, tf, dir, args...)
	if err != nil {
		t.Fatalf("terraform %s in %s: %v\n%s", strings.Join(args, " "), dir, err, tail(out, 30))
	}
	return out
}
