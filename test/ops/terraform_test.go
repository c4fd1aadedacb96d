package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
// terraform fmt over everything; init, validate and `terraform test` (a
// mocked AWS provider: the IAM policies of a secured cluster) of the root
// module and the example when the AWS provider can be had, from a local
// plugin mirror or the registry, and says so when not; node-config's own
// `terraform test` (what a secured cluster's inputs refuse); and the
// node-config module every node's user_data comes from: rendered for three
// addresses in plaintext, each storage formatted as user_data does, its
// server.properties start three real gokafka-server processes that form a
// cluster and serve an RF 3 topic.
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
		if dir == mod {
			terraform(t, tf, dir, "test", "-no-color")
		}
	}
	nodeConfig := filepath.Join(mod, "modules", "node-config")
	terraform(t, tf, nodeConfig, "init", "-backend=false", "-input=false", "-no-color")
	terraform(t, tf, nodeConfig, "test", "-no-color")

	// Free ports, not the module's defaults, so that a broker already on
	// this machine's :9092 (make run) does not stop the rendered nodes.
	ports, err := harness.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	r := renderNodeConfig(t, tf, nodeConfig, fmt.Sprintf("security = \"plaintext\"\n  client_port = %d\n  controller_port = %d\n  metrics_port = %d",
		ports[0], ports[1], ports[2]))
	props, userData := r.Props.Value, r.UserData.Value
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
	startRenderedCluster(t, props, r.ClusterID.Value, ports[0], ports[2])
}

// TestTerraformSecuredProperties renders node-config for three nodes with
// security = "sasl_ssl" and holds each node's server.properties to exactly
// the keys a secured Kafka node needs (SASL_SSL with SCRAM-SHA-512 for
// clients and replication, mTLS on the CONTROLLER listener, the
// StandardAuthorizer), each user_data to writing only its own keystore,
// 0600 under a 0700 directory, formatting with the admin's SCRAM
// credential, and filling in the password so that the JAAS line carries
// it. gokafka-server has no --check-config yet, so the keys are read from
// the file, not by the binary.
func TestTerraformSecuredProperties(t *testing.T) {
	tf := terraformBinary(t)
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	const password = "0123456789abcdef+/=._~-XYZ"
	r := renderNodeConfig(t, tf, filepath.Join(root, "deploy", "terraform", "modules", "node-config"), `
  tls_keystore_pems  = ["KEYSTORE-1", "KEYSTORE-2", "KEYSTORE-3"]
  tls_truststore_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ca-AbCdEf"
  admin_password     = "`+password+`"
  super_users        = ["User:CN=gokafka-node"]`)
	const secrets = "/etc/gokafka/secrets"
	for i, p := range r.Props.Value {
		ip := nodeIPs[i]
		got, err := parseProperties(p)
		if err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
		want := map[string]string{
			"node.id":                                  strconv.Itoa(i + 1),
			"process.roles":                            "broker,controller",
			"listeners":                                "SASL_SSL://" + ip + ":9092,CONTROLLER://" + ip + ":9093",
			"advertised.listeners":                     "SASL_SSL://" + ip + ":9092",
			"listener.security.protocol.map":           "SASL_SSL:SASL_SSL,CONTROLLER:SSL",
			"inter.broker.listener.name":               "SASL_SSL",
			"controller.listener.names":                "CONTROLLER",
			"controller.quorum.voters":                 "1@127.0.77.11:9093,2@127.0.77.12:9093,3@127.0.77.13:9093",
			"http.listener":                            ip + ":9644",
			"log.dirs":                                 "/var/lib/gokafka/kafka-logs",
			"default.replication.factor":               "3",
			"offsets.topic.replication.factor":         "3",
			"min.insync.replicas":                      "2",
			"listener.name.controller.ssl.client.auth": "required",
			"sasl.enabled.mechanisms":                  "SCRAM-SHA-512",
			"sasl.mechanism.inter.broker.protocol":     "SCRAM-SHA-512",
			"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="` + r.Placeholder.Value + `";`,
			"authorizer.class.name":                                 "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
			"super.users":                                           "User:admin;User:CN=gokafka-node",
			"allow.everyone.if.no.acl.found":                        "false",
		}
		for _, l := range []string{"sasl_ssl", "controller"} {
			want["listener.name."+l+".ssl.keystore.type"] = "PEM"
			want["listener.name."+l+".ssl.keystore.location"] = secrets + "/keystore.pem"
			want["listener.name."+l+".ssl.truststore.type"] = "PEM"
			want["listener.name."+l+".ssl.truststore.location"] = secrets + "/truststore.pem"
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("node %d: %s=%q, want %q", i+1, k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("node %d: unexpected key %s=%s", i+1, k, got[k])
			}
		}
		if strings.Contains(p, password) {
			t.Errorf("node %d: the rendered server.properties shows the admin password", i+1)
		}
	}
	for i, ud := range r.UserData.Value {
		for j := range r.UserData.Value {
			if own := strings.Contains(ud, "\nKEYSTORE-"+strconv.Itoa(j+1)+"\n"); own != (i == j) {
				t.Errorf("node %d: user_data holds node %d's keystore: %v", i+1, j+1, own)
			}
		}
		for _, want := range []string{
			"install -d -m 0700 -o gokafka -g gokafka '" + secrets + "'",
			"umask 077",
			"chown gokafka:gokafka '" + secrets + "'/*",
			"aws secretsmanager get-secret-value",
			"secret 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ca-AbCdEf' '" + secrets + "/truststore.pem'",
			"--cluster-id='" + r.ClusterID.Value + "' --ignore-formatted",
			`--add-scram "SCRAM-SHA-512=[name=admin,password=$ADMIN_PASSWORD]"`,
		} {
			if !strings.Contains(ud, want) {
				t.Errorf("node %d: user_data lacks %q", i+1, want)
			}
		}
		if out, err := exec.Command("bash", "-n", "-c", ud).CombinedOutput(); err != nil {
			t.Errorf("node %d: user_data is not valid bash: %v\n%s", i+1, err, out)
		}
		if got := fillPassword(t, ud, password); !strings.Contains(got, `password="`+password+`";`) || strings.Contains(got, r.Placeholder.Value) {
			t.Errorf("node %d: user_data's server.properties after the password is filled in:\n%s", i+1, got)
		}
	}
}

// fillPassword runs the part of user_data that writes server.properties
// up to the password substitution, with ADMIN_PASSWORD set, and returns
// the result: the bash that does it, not a reading of it.
func fillPassword(t *testing.T, userData, password string) string {
	t.Helper()
	start := strings.Index(userData, "PROPERTIES=$(cat <<'GOKAFKA_PROPERTIES'")
	end := strings.Index(userData, "(umask 077 && printf")
	if start < 0 || end < start {
		t.Fatal("user_data: no server.properties block")
	}
	script := "set -euo pipefail\nADMIN_PASSWORD='" + password + "'\n" + userData[start:end] + "printf '%s\\n' \"$PROPERTIES\"\n"
	out, err := exec.Command("bash", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("filling in the password: %v\n%s", err, out)
	}
	return string(out)
}

// parseProperties reads the key=value lines of a rendered server.properties
// (the template writes no continuations or escapes) and refuses a key set
// twice, which Kafka would silently take the last of.
func parseProperties(text string) (map[string]string, error) {
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %q is not key=value", line)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("%s is set twice", k)
		}
		m[k] = v
	}
	return m, nil
}

// rendered is what renderNodeConfig returns: node-config's outputs.
type rendered struct {
	Props       struct{ Value []string } `json:"props"`
	UserData    struct{ Value []string } `json:"user_data"`
	ClusterID   struct{ Value string }   `json:"cluster_id"`
	Placeholder struct{ Value string }   `json:"placeholder"`
}

// renderNodeConfig applies a root module that only calls node-config (no
// provider, no resources) with the given extra inputs, and returns its
// outputs.
func renderNodeConfig(t *testing.T, tf, moduleDir, inputs string) rendered {
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
  %s
}
output "props" { value = module.cfg.server_properties }
output "user_data" {
  value     = module.cfg.user_data
  sensitive = true
}
output "cluster_id" { value = module.cfg.cluster_id }
output "placeholder" { value = module.cfg.admin_password_placeholder }
`, rel, ips, inputs)
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	terraform(t, tf, dir, "init", "-backend=false", "-input=false", "-no-color")
	terraform(t, tf, dir, "apply", "-auto-approve", "-input=false", "-no-color")
	var out rendered
	if err := json.Unmarshal([]byte(terraform(t, tf, dir, "output", "-json")), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Props.Value) != 3 || len(out.UserData.Value) != 3 {
		t.Fatalf("rendered %d server.properties and %d user_data, want 3 each", len(out.Props.Value), len(out.UserData.Value))
	}
	return out
}

// startRenderedCluster formats each node's storage with the module's
// cluster id as user_data does, runs gokafka-server on each rendered file
// (clients and /readyz on the ports it was rendered with),
// with only the data directory moved under the test's temp dir, and checks
// that the three form one cluster.
func startRenderedCluster(t *testing.T, props []string, clusterID string, clientPort, metricsPort int) {
	bin := harness.Binary(t)
	for i, p := range props {
		dir := t.TempDir()
		p = strings.ReplaceAll(p, "/var/lib/gokafka", dir)
		path := filepath.Join(dir, "server.properties")
		if err := os.WriteFile(path, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "format", "--config", path, "--cluster-id="+clusterID, "--ignore-formatted").CombinedOutput(); err != nil {
			t.Fatalf("node %d: format with the module's cluster id %s: %v\n%s", i+1, clusterID, err, out)
		}
		startProcess(t, fmt.Sprintf("node %d", i+1), filepath.Join(dir, "stderr.log"), bin, "--config", path)
	}
	hc := &http.Client{Timeout: time.Second}
	for _, ip := range nodeIPs {
		harness.WaitFor(t, "node at "+ip+" ready", 30*time.Second, func() bool {
			resp, err := hc.Get(fmt.Sprintf("http://%s:%d/readyz", ip, metricsPort))
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
	seeds := make([]string, len(nodeIPs))
	for i, ip := range nodeIPs {
		seeds[i] = fmt.Sprintf("%s:%d", ip, clientPort)
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
	if len(args) > 0 && args[0] == "init" && tfPluginDir() != "" {
		args = append(args, "-plugin-dir="+tfPluginDir())
	}
	cmd := exec.Command(tf, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null", "TF_IN_AUTOMATION=1", "TF_DATA_DIR="+tfData[dir])
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// tfPluginDir is a local mirror of providers for init, so that the AWS
// provider need not come from registry.terraform.io: $GOKAFKA_TF_PLUGIN_DIR,
// else /opt/tf-plugins if it holds hashicorp/aws, else none.
func tfPluginDir() string {
	if d := os.Getenv("GOKAFKA_TF_PLUGIN_DIR"); d != "" {
		return d
	}
	if _, err := os.Stat("/opt/tf-plugins/registry.terraform.io/hashicorp/aws"); err == nil {
		return "/opt/tf-plugins"
	}
	return ""
}

func terraform(t *testing.T, tf, dir string, args ...string) string {
	t.Helper()
	out, err := terraformErr(t, tf, dir, args...)
	if err != nil {
		t.Fatalf("terraform %s in %s: %v\n%s", strings.Join(args, " "), dir, err, tail(out, 30))
	}
	return out
}
