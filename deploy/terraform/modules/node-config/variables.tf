variable "node_ips" {
  description = "Private IP of each node, in node.id order (node i+1 gets node_ips[i]). Listeners bind to these addresses."
  type        = list(string)
  validation {
    condition     = length(var.node_ips) >= 1 && alltrue([for ip in var.node_ips : can(cidrhost("${ip}/32", 0))])
    error_message = "node_ips must be one or more IPv4 addresses."
  }
}

variable "advertised_hosts" {
  description = "Name or address clients are told for each node (default: node_ips)."
  type        = list(string)
  default     = []
  validation {
    condition     = length(var.advertised_hosts) == 0 || length(var.advertised_hosts) == length(var.node_ips)
    error_message = "advertised_hosts, when set, needs one entry per node."
  }
}

variable "client_port" {
  description = "Kafka protocol port (the SASL_SSL or PLAINTEXT listener, for clients and replication)."
  type        = number
  default     = 9092
}

variable "controller_port" {
  description = "Raft and controller RPC port (CONTROLLER listener, mTLS when security is sasl_ssl)."
  type        = number
  default     = 9093
}

variable "metrics_port" {
  description = "Port of /metrics, /healthz and /readyz (http.listener)."
  type        = number
  default     = 9644
}

variable "data_dir" {
  description = "Where the data volume is mounted; log.dirs and the metadata log live under it."
  type        = string
  default     = "/var/lib/gokafka"
}

variable "extra_properties" {
  description = "More server.properties lines, key => value, appended to every node's file (e.g. num.partitions)."
  type        = map(string)
  default     = {}
}

variable "binary_url" {
  description = "Where user_data downloads the gokafka-server binary (static, for the instances' architecture)."
  type        = string
  default     = ""
}

variable "binary_sha256" {
  description = "Expected SHA-256 of the binary; empty skips the check."
  type        = string
  default     = ""
}

variable "volume_ids" {
  description = "EBS volume id of each node's data volume, which user_data formats (once) and mounts."
  type        = list(string)
  default     = []
}

variable "cluster_id" {
  description = "Kafka cluster id (22 characters of URL-safe base64, as gokafka-server random-uuid prints) every node is formatted with; empty derives one from node_ips, stable for the cluster's life."
  type        = string
  default     = ""
  validation {
    condition     = var.cluster_id == "" || can(regex("^[A-Za-z0-9_][A-Za-z0-9_-]{21}$", var.cluster_id))
    error_message = "cluster_id must be 16 bytes in URL-safe base64 without padding (gokafka-server random-uuid), not starting with '-'."
  }
}

# Security. sasl_ssl: clients and replication on a SASL_SSL listener
# (SCRAM-SHA-512), the CONTROLLER listener on SSL with client certificates
# required (mTLS between nodes), the StandardAuthorizer with ACLs. Each
# secret comes either as contents (sensitive: it ends up in user_data and
# in the Terraform state) or as an AWS Secrets Manager ARN that user_data
# reads at boot with the instance's role.

variable "security" {
  description = "sasl_ssl (SASL_SSL for clients and brokers, mTLS between controllers, ACLs) or plaintext (no TLS, no authentication: a closed test network only)."
  type        = string
  default     = "sasl_ssl"
  validation {
    condition     = contains(["sasl_ssl", "plaintext"], var.security)
    error_message = "security must be sasl_ssl or plaintext."
  }
}

variable "tls_keystore_pems" {
  description = "Each node's PEM keystore, in node.id order: its unencrypted PKCS#8 private key followed by its certificate chain, the certificate naming the node's address (node_ips, advertised_hosts) as a subject alternative name."
  type        = list(string)
  default     = []
  sensitive   = true
}

variable "tls_keystore_arns" {
  description = "Instead of tls_keystore_pems: a Secrets Manager secret ARN per node, in node.id order, whose SecretString is that PEM keystore."
  type        = list(string)
  default     = []
}

variable "tls_truststore_pem" {
  description = "PEM certificate(s) of the CA that signs every node's certificate (and the clients' for mTLS)."
  type        = string
  default     = ""
}

variable "tls_truststore_arn" {
  description = "Instead of tls_truststore_pem: a Secrets Manager secret ARN whose SecretString is that PEM."
  type        = string
  default     = ""
}

variable "admin_user" {
  description = "SCRAM-SHA-512 user created at format time: a super user, and the identity brokers replicate as."
  type        = string
  default     = "admin"
  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.admin_user))
    error_message = "admin_user may hold letters, digits, '.', '_' and '-'."
  }
}

variable "admin_password" {
  description = "The admin user's SCRAM password: 16 or more of A-Z a-z 0-9 + / = . _ ~ - (openssl rand -base64 32 makes one). These characters need no quoting in a JAAS line, a --add-scram argument or the shell."
  type        = string
  default     = ""
  sensitive   = true
  validation {
    condition     = var.admin_password == "" || can(regex("^[A-Za-z0-9+/=._~-]{16,}$", var.admin_password))
    error_message = "admin_password needs 16 or more characters, each of A-Z a-z 0-9 + / = . _ ~ -."
  }
}

variable "admin_password_arn" {
  description = "Instead of admin_password: a Secrets Manager secret ARN whose SecretString is the password (same rules; user_data checks them at boot)."
  type        = string
  default     = ""
}

variable "super_users" {
  description = "Principals besides the admin user that every ACL check lets through: each node's certificate principal on the CONTROLLER listener (its subject, e.g. User:CN=gokafka-1), which Kafka authorizes by ClusterAction."
  type        = list(string)
  default     = []
}
