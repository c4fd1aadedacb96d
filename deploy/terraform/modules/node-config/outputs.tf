output "server_properties" {
  description = "Each node's server.properties, in node.id order."
  value       = local.server_properties
}

output "user_data" {
  description = "Each node's cloud-init user_data script, in node.id order."
  value       = local.user_data
}

output "controller_quorum_voters" {
  description = "The controller.quorum.voters every node is given."
  value       = local.voters
}

output "bootstrap_servers" {
  description = "The string clients bootstrap from."
  value = join(",", [
    for i, ip in var.node_ips : "${length(var.advertised_hosts) > 0 ? var.advertised_hosts[i] : ip}:${var.client_port}"
  ])
}
