# Three secured gokafka nodes in an existing VPC and subnet: SASL_SSL
# (SCRAM-SHA-512) between clients and brokers and for replication, mTLS
# between nodes on the controller port, ACLs on. See ../../README.md:
#
#   cp terraform.tfvars.example terraform.tfvars   # fill in your ids
#   terraform apply -target=module.gokafka.aws_network_interface.nodes
#   # issue each node a certificate for its private_ips entry, store the
#   # keystores, the CA and the admin password in Secrets Manager
#   terraform apply
#   gokafka topics --list --bootstrap-server "$(terraform output -raw bootstrap_servers)" \
#     --command-config admin.properties

provider "aws" {
  region = var.region
}

module "gokafka" {
  source = "../.."

  cluster_name        = var.cluster_name
  vpc_id              = var.vpc_id
  subnet_id           = var.subnet_id
  node_count          = var.node_count
  instance_type       = var.instance_type
  data_volume_size_gb = var.data_volume_size_gb
  data_volume_type    = var.data_volume_type
  client_cidrs        = var.client_cidrs
  admin_cidr          = var.admin_cidr
  key_name            = var.key_name
  binary_url          = var.binary_url
  binary_sha256       = var.binary_sha256
  tags                = var.tags

  security           = var.security
  tls_keystore_arns  = var.tls_keystore_arns
  tls_truststore_arn = var.tls_truststore_arn
  admin_password_arn = var.admin_password_arn
  super_users        = var.super_users
}

output "bootstrap_servers" {
  value = module.gokafka.bootstrap_servers
}

output "private_ips" {
  value = module.gokafka.private_ips
}

output "server_properties" {
  value = module.gokafka.server_properties
}
