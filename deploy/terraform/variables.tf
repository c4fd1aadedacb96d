variable "cluster_name" {
  description = "Names and tags every resource; one module instance per cluster."
  type        = string
  default     = "gokafka"
}

variable "vpc_id" {
  description = "VPC the nodes and their security group live in."
  type        = string
}

variable "subnet_id" {
  description = "Subnet of the nodes (one subnet: its availability zone holds every data volume)."
  type        = string
}

variable "node_count" {
  description = "Nodes, each broker and Raft voter. 3 survives the loss of one, 5 of two."
  type        = number
  default     = 3
  validation {
    condition     = var.node_count >= 1 && var.node_count % 2 == 1
    error_message = "node_count must be odd (1, 3, 5...): an even quorum tolerates no more failures than the odd one below it."
  }
}

variable "instance_type" {
  description = "EC2 instance type."
  type        = string
  default     = "m6i.large"
}

variable "architecture" {
  description = "x86_64 or arm64: picks the Amazon Linux 2023 AMI when ami_id is empty; binary_url must match it."
  type        = string
  default     = "x86_64"
  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "ami_id" {
  description = "AMI of the nodes; empty takes the latest Amazon Linux 2023 for architecture."
  type        = string
  default     = ""
}

variable "key_name" {
  description = "EC2 key pair for SSH; empty for none."
  type        = string
  default     = ""
}

variable "data_volume_size_gb" {
  description = "Size of each node's EBS data volume, in GiB."
  type        = number
  default     = 100
}

variable "data_volume_type" {
  description = "EBS type of the data volumes (gp3, io2, st1...)."
  type        = string
  default     = "gp3"
}

variable "client_cidrs" {
  description = "CIDRs allowed to reach the Kafka port (9092)."
  type        = list(string)
}

variable "admin_cidr" {
  description = "CIDR allowed SSH (22); empty opens SSH to nobody."
  type        = string
  default     = ""
}

variable "binary_url" {
  description = "URL the nodes download the static gokafka-server binary from (an S3 presigned URL, a release asset...)."
  type        = string
}

variable "binary_sha256" {
  description = "Expected SHA-256 of the binary; empty skips the check."
  type        = string
  default     = ""
}

variable "extra_properties" {
  description = "More server.properties settings for every node, key => value."
  type        = map(string)
  default     = {}
}

variable "associate_public_ip" {
  description = "Give the nodes public addresses (clients still use the private ones unless advertised otherwise)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

# Security: see modules/node-config/variables.tf for each of these, and
# README.md for where the secrets end up on the nodes.

variable "security" {
  description = "sasl_ssl (SASL_SSL SCRAM-SHA-512 for clients and brokers, mTLS between nodes, ACLs) or plaintext (a closed test network only)."
  type        = string
  default     = "sasl_ssl"
}

variable "tls_keystore_pems" {
  description = "Each node's PEM keystore (unencrypted PKCS#8 key, then its certificate chain), in node.id order. Ends up in user_data and the state: prefer tls_keystore_arns."
  type        = list(string)
  default     = []
  sensitive   = true
}

variable "tls_keystore_arns" {
  description = "Secrets Manager ARN of each node's PEM keystore, in node.id order; node i's role may read only its own."
  type        = list(string)
  default     = []
}

variable "tls_truststore_pem" {
  description = "PEM of the CA that signs the nodes' (and mTLS clients') certificates."
  type        = string
  default     = ""
}

variable "tls_truststore_arn" {
  description = "Secrets Manager ARN of that CA PEM, instead of tls_truststore_pem."
  type        = string
  default     = ""
}

variable "admin_user" {
  description = "SCRAM-SHA-512 super user created when the nodes are formatted; brokers replicate as it."
  type        = string
  default     = "admin"
}

variable "admin_password" {
  description = "The admin's SCRAM password (16+ of A-Z a-z 0-9 + / = . _ ~ -). Ends up in user_data and the state: prefer admin_password_arn."
  type        = string
  default     = ""
  sensitive   = true
}

variable "admin_password_arn" {
  description = "Secrets Manager ARN of the admin's SCRAM password, instead of admin_password."
  type        = string
  default     = ""
}

variable "super_users" {
  description = "Principals besides the admin user that pass every ACL check: at least the nodes' certificate principals (User:CN=...)."
  type        = list(string)
  default     = []
}

variable "cluster_id" {
  description = "Kafka cluster id (gokafka-server random-uuid); empty derives a stable one from the nodes' addresses."
  type        = string
  default     = ""
}
