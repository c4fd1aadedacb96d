# node-config renders what each gokafka node runs with: its
# server.properties and the cloud-init user_data that installs the binary,
# mounts the data volume, writes that file and starts the systemd unit.
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
      extra              = var.extra_properties
    })
  ]
  user_data = [
    for i, props in local.server_properties : templatefile("${path.module}/user_data.sh.tftpl", {
      node_id           = i + 1
      binary_url        = var.binary_url
      binary_sha256     = var.binary_sha256
      volume_id         = length(var.volume_ids) > 0 ? var.volume_ids[i] : ""
      data_dir          = var.data_dir
      server_properties = props
      systemd_unit      = file("${path.module}/../../../systemd/gokafka.service")
    })
  ]
}
