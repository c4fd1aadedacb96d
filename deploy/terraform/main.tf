# Three (node_count) EC2 instances, each running gokafka-server as broker
# and Raft voter, with an EBS data volume and one security group.
#
# Every node's controller.quorum.voters names every node's private
# address, so the addresses must exist before any instance boots: they
# come from network interfaces created first, which the instances then use
# as their primary interface.

locals {
  name = var.cluster_name
  tags = merge({ "gokafka:cluster" = var.cluster_name }, var.tags)
  ami  = var.ami_id != "" ? var.ami_id : data.aws_ssm_parameter.al2023[0].value
}

data "aws_subnet" "nodes" {
  id = var.subnet_id
}

data "aws_ssm_parameter" "al2023" {
  count = var.ami_id == "" ? 1 : 0
  name  = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${var.architecture}"
}

resource "aws_security_group" "nodes" {
  name        = "${local.name}-nodes"
  description = "gokafka ${local.name}: Kafka port to clients, controller and metrics ports within the cluster"
  vpc_id      = var.vpc_id
  tags        = merge(local.tags, { Name = "${local.name}-nodes" })
}

# Clients reach the Kafka port...
resource "aws_vpc_security_group_ingress_rule" "kafka_clients" {
  for_each          = toset(var.client_cidrs)
  security_group_id = aws_security_group.nodes.id
  description       = "Kafka clients"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 9092
  to_port           = 9092
}

# ...and so do the other nodes: followers replicate over it. Leaving this
# out is the classic mistake: clients work, replication does not.
resource "aws_vpc_security_group_ingress_rule" "kafka_replication" {
  security_group_id            = aws_security_group.nodes.id
  description                  = "Replication between brokers"
  referenced_security_group_id = aws_security_group.nodes.id
  ip_protocol                  = "tcp"
  from_port                    = 9092
  to_port                      = 9092
}

resource "aws_vpc_security_group_ingress_rule" "controller" {
  security_group_id            = aws_security_group.nodes.id
  description                  = "Raft and controller RPCs, nodes only"
  referenced_security_group_id = aws_security_group.nodes.id
  ip_protocol                  = "tcp"
  from_port                    = 9093
  to_port                      = 9093
}

# Metrics and health: within the group (put Prometheus in it, or add a rule).
resource "aws_vpc_security_group_ingress_rule" "metrics" {
  security_group_id            = aws_security_group.nodes.id
  description                  = "Prometheus metrics, /healthz, /readyz"
  referenced_security_group_id = aws_security_group.nodes.id
  ip_protocol                  = "tcp"
  from_port                    = 9644
  to_port                      = 9644
}

resource "aws_vpc_security_group_ingress_rule" "ssh" {
  count             = var.admin_cidr != "" ? 1 : 0
  security_group_id = aws_security_group.nodes.id
  description       = "SSH from the admin network"
  cidr_ipv4         = var.admin_cidr
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
}

# Out: the binary download and package mirrors.
resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.nodes.id
  description       = "Outbound"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}

resource "aws_network_interface" "nodes" {
  count           = var.node_count
  subnet_id       = var.subnet_id
  security_groups = [aws_security_group.nodes.id]
  tags            = merge(local.tags, { Name = "${local.name}-${format("%02d", count.index + 1)}" })
}

resource "aws_ebs_volume" "data" {
  count             = var.node_count
  availability_zone = data.aws_subnet.nodes.availability_zone
  size              = var.data_volume_size_gb
  type              = var.data_volume_type
  encrypted         = true
  tags              = merge(local.tags, { Name = "${local.name}-${format("%02d", count.index + 1)}-data" })
}

module "config" {
  source             = "./modules/node-config"
  node_ips           = aws_network_interface.nodes[*].private_ip
  volume_ids         = aws_ebs_volume.data[*].id
  binary_url         = var.binary_url
  binary_sha256      = var.binary_sha256
  extra_properties   = var.extra_properties
  cluster_id         = var.cluster_id
  security           = var.security
  tls_keystore_pems  = var.tls_keystore_pems
  tls_keystore_arns  = var.tls_keystore_arns
  tls_truststore_pem = var.tls_truststore_pem
  tls_truststore_arn = var.tls_truststore_arn
  admin_user         = var.admin_user
  admin_password     = var.admin_password
  admin_password_arn = var.admin_password_arn
  super_users        = var.super_users
}

# Secrets from Secrets Manager: each node gets a role of its own that may
# read exactly its keystore, the truststore and the admin password, and
# nothing else (no role at all when no ARN is given). A secret encrypted
# with a customer-managed KMS key also needs kms:Decrypt in that key's
# policy for these roles.
locals {
  node_secret_arns = [
    for i in range(var.node_count) : compact([
      var.security == "sasl_ssl" ? try(var.tls_keystore_arns[i], "") : "",
      var.security == "sasl_ssl" ? var.tls_truststore_arn : "",
      var.security == "sasl_ssl" ? var.admin_password_arn : "",
    ])
  ]
  secrets_roles = length(flatten(local.node_secret_arns)) > 0 ? var.node_count : 0
}

resource "aws_iam_role" "nodes" {
  count = local.secrets_roles
  name  = "${local.name}-${format("%02d", count.index + 1)}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = local.tags
}

resource "aws_iam_role_policy" "secrets" {
  count = local.secrets_roles
  name  = "read-own-secrets"
  role  = aws_iam_role.nodes[count.index].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = "secretsmanager:GetSecretValue"
      Resource = local.node_secret_arns[count.index]
    }]
  })
}

resource "aws_iam_instance_profile" "nodes" {
  count = local.secrets_roles
  name  = "${local.name}-${format("%02d", count.index + 1)}"
  role  = aws_iam_role.nodes[count.index].name
  tags  = local.tags
}

resource "aws_instance" "nodes" {
  count         = var.node_count
  ami           = local.ami
  instance_type = var.instance_type
  key_name      = var.key_name != "" ? var.key_name : null
  # Gzipped (cloud-init unpacks it): a PEM keystore and truststore given
  # as contents would otherwise push the script near EC2's 16 KiB limit.
  user_data_base64     = base64gzip(module.config.user_data[count.index])
  iam_instance_profile = local.secrets_roles > 0 ? aws_iam_instance_profile.nodes[count.index].name : null

  network_interface {
    network_interface_id = aws_network_interface.nodes[count.index].id
    device_index         = 0
  }

  metadata_options {
    http_tokens = "required" # IMDSv2 only
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = 20
    encrypted   = true
  }

  tags = merge(local.tags, { Name = "${local.name}-${format("%02d", count.index + 1)}" })

  lifecycle {
    # A new AMI must not replace a running node behind the operator's back.
    ignore_changes = [ami, user_data, user_data_base64]
    precondition {
      condition     = length(base64gzip(module.config.user_data[count.index])) <= 21848
      error_message = "user_data is over EC2's 16 KiB even gzipped: give the TLS material as Secrets Manager ARNs."
    }
  }
}

resource "aws_volume_attachment" "data" {
  count       = var.node_count
  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.data[count.index].id
  instance_id = aws_instance.nodes[count.index].id
}

resource "aws_eip" "nodes" {
  count             = var.associate_public_ip ? var.node_count : 0
  domain            = "vpc"
  network_interface = aws_network_interface.nodes[count.index].id
  tags              = merge(local.tags, { Name = "${local.name}-${format("%02d", count.index + 1)}" })
  depends_on        = [aws_instance.nodes]
}
