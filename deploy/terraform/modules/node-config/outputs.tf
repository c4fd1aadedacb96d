output "server_properties" {
  description = "Each node's server.properties, in node.id order."
  value       = local.server_properties
}

output "user_data" {
  description = "Each node's cloud-init user_data script, in node.id order. Sensitive: it carries the secrets given as contents."
  value       = local.user_data
  sensitive   = true

  # With sasl_ssl every node needs each secret from exactly one source.
  precondition {
    condition     = !local.secured || (length(var.tls_keystore_arns) == 0) != (nonsensitive(length(var.tls_keystore_pems)) == 0)
    error_message = "security = \"sasl_ssl\" needs tls_keystore_pems or tls_keystore_arns (one of them)."
  }
  precondition {
    condition     = !local.secured || max(length(var.tls_keystore_arns), nonsensitive(length(var.tls_keystore_pems))) == length(var.node_ips)
    error_message = "tls_keystore_pems or tls_keystore_arns needs one keystore per node."
  }
  precondition {
    condition     = !local.secured || (var.tls_truststore_pem == "") != (var.tls_truststore_arn == "")
    error_message = "security = \"sasl_ssl\" needs tls_truststore_pem or tls_truststore_arn (one of them)."
  }
  precondition {
    condition     = !local.secured || (var.admin_password_arn == "") != nonsensitive(var.admin_password == "")
    error_message = "security = \"sasl_ssl\" needs admin_password or admin_password_arn (one of them)."
  }
  precondition {
    condition     = !local.secured || length(var.super_users) > 0
    error_message = "security = \"sasl_ssl\" needs super_users to name the nodes' certificate principals (User:CN=...): the CONTROLLER listener authorizes them by ClusterAction."
  }
  precondition {
    condition = alltrue([for arn in concat(var.tls_keystore_arns, [var.tls_truststore_arn, var.admin_password_arn]) :
    arn == "" || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", arn))])
    error_message = "Each *_arn must be a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-SUFFIX)."
  }
}

output "cluster_id" {
  description = "The cluster id every node's storage is formatted with."
  value       = local.cluster_id
}

output "admin_password_placeholder" {
  description = "What stands for the admin password in server_properties; user_data replaces it at boot."
  value       = local.password_placeholder
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
