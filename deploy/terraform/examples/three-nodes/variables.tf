variable "region" {
  description = "AWS region."
  type        = string
}

variable "cluster_name" {
  type    = string
  default = "gokafka"
}

variable "vpc_id" {
  type = string
}

variable "subnet_id" {
  type = string
}

variable "node_count" {
  type    = number
  default = 3
}

variable "instance_type" {
  type    = string
  default = "m6i.large"
}

variable "data_volume_size_gb" {
  type    = number
  default = 100
}

variable "data_volume_type" {
  type    = string
  default = "gp3"
}

variable "client_cidrs" {
  type = list(string)
}

variable "admin_cidr" {
  type    = string
  default = ""
}

variable "key_name" {
  type    = string
  default = ""
}

variable "binary_url" {
  type = string
}

variable "binary_sha256" {
  type    = string
  default = ""
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "security" {
  description = "sasl_ssl (the default) or plaintext (a closed test network only)."
  type        = string
  default     = "sasl_ssl"
}

variable "tls_keystore_arns" {
  description = "Secrets Manager ARN of each node's PEM keystore (key, then certificate chain), in node.id order."
  type        = list(string)
  default     = []
}

variable "tls_truststore_arn" {
  description = "Secrets Manager ARN of the CA certificate (PEM)."
  type        = string
  default     = ""
}

variable "admin_password_arn" {
  description = "Secrets Manager ARN of the admin user's SCRAM password."
  type        = string
  default     = ""
}

variable "super_users" {
  description = "The nodes' certificate principals, e.g. [\"User:CN=gokafka-node\"]."
  type        = list(string)
  default     = []
}
