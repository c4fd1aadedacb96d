# node-config renders what each gokafka node runs with: its
# server.properties and the cloud-init user_data that installs the binary,
# mounts the data volume, writes that file and the node's secrets, formats
# the storage and starts the systemd unit.
# It creates no resources and needs no provider, so it is tested offline:
# test/ops renders it for three loopback addresses and starts three real
# gokafka-server processes on the result.

terraform {
  required_version = ">= 1.5"
}

locals {
  ids = [for i, _ in var.node_ips : i + 1]
  voters = join(",", [
    for i, ip in var.node_ips : "${i + 1}@${ip}:${var.controller_port}"
  ])
  secured     = var.security == "sasl_ssl"
  secrets_dir = "/etc/gokafka/secrets"
  # The rendered server.properties holds this where the admin password
  # goes; user_data puts the password in at boot, so that neither this
  # module's outputs nor a plan show it when it comes from an ARN.
  password_placeholder = "__GOKAFKA_ADMIN_PASSWORD__"

  # Every node is formatted with the same cluster id before its first
  # start (Kafka's rule, and where --add-scram puts the admin credential).
  # Without one given, it is 16 bytes of md5(node_ips) in URL-safe base64:
  # Terraform has no function for bytes to base64, so 3 hex digits (12
  # bits) make two characters, and the last 2 hex digits make the last two.
  b64     = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
  id_hex  = md5(join(",", var.node_ips))
  id_tail = parseint(substr(local.id_hex, 30, 2), 16)
  id_raw = join("", concat(flatten([
    for i in range(10) : [
      substr(local.b64, floor(parseint(substr(local.id_hex, i * 3, 3), 16) / 64), 1),
      substr(local.b64, parseint(substr(local.id_hex, i * 3, 3), 16) % 64, 1),
    ]
    ]), [
    substr(local.b64, floor(local.id_tail / 4), 1),
    substr(local.b64, local.id_tail % 4 * 16, 1),
  ]))
  # A leading '-' reads as a flag to some tools.
  cluster_id = var.cluster_id != "" ? var.cluster_id : "${replace(substr(local.id_raw, 0, 1), "-", "A")}${substr(local.id_raw, 1, 21)}"

  server_properties = [
    for i, ip in var.node_ips : templatefile("${path.module}/server.properties.tftpl", {
      node_id            = i + 1
      ip                 = ip
      advertised_host    = length(var.advertised_hosts) > 0 ? var.advertised_hosts[i] : ip
      client_port        = var.client_port
      controller_port    = var.controller_port
      metrics_port       = var.metrics_port
      voters             = local.voters
      data_dir           = var.data_dir
      replication_factor = min(3, length(var.node_ips))
      min_insync         = length(var.node_ips) >= 3 ? 2 : 1
      secured            = local.secured
      secrets_dir        = local.secrets_dir
      admin_user         = var.admin_user
      admin_password     = local.password_placeholder
      super_users        = join(";", concat(["User:${var.admin_user}"], var.super_users))
      extra              = var.extra_properties
    })
  ]
  user_data = [
    for i, props in local.server_properties : templatefile("${path.module}/user_data.sh.tftpl", {
      node_id              = i + 1
      binary_url           = var.binary_url
      binary_sha256        = var.binary_sha256
      volume_id            = length(var.volume_ids) > 0 ? var.volume_ids[i] : ""
      data_dir             = var.data_dir
      cluster_id           = local.cluster_id
      secured              = local.secured
      secrets_dir          = local.secrets_dir
      keystore_pem         = local.secured ? try(var.tls_keystore_pems[i], "") : ""
      keystore_arn         = local.secured ? try(var.tls_keystore_arns[i], "") : ""
      truststore_pem       = local.secured ? var.tls_truststore_pem : ""
      truststore_arn       = local.secured ? var.tls_truststore_arn : ""
      admin_user           = var.admin_user
      admin_password       = local.secured ? var.admin_password : ""
      admin_password_arn   = local.secured ? var.admin_password_arn : ""
      password_placeholder = local.password_placeholder
      server_properties    = props
      systemd_unit         = file("${path.module}/../../../systemd/gokafka.service")
    })
  ]
}
