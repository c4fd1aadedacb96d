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
  description = "Kafka protocol port (PLAINTEXT listener)."
  type        = number
  default     = 9092
}

variable "controller_port" {
  description = "Raft and controller RPC port (CONTROLLER listener)."
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
