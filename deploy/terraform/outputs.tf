output "bootstrap_servers" {
  description = "What clients pass as bootstrap.servers / --bootstrap-server."
  value       = module.config.bootstrap_servers
}

output "private_ips" {
  description = "Private address of each node, in node.id order."
  value       = aws_network_interface.nodes[*].private_ip
}

output "public_ips" {
  description = "Public address of each node (with associate_public_ip)."
  value       = aws_eip.nodes[*].public_ip
}

output "instance_ids" {
  description = "EC2 instance id of each node, in node.id order."
  value       = aws_instance.nodes[*].id
}

output "security_group_id" {
  description = "The nodes' security group: add Prometheus to it to scrape port 9644."
  value       = aws_security_group.nodes.id
}

output "server_properties" {
  description = "Each node's server.properties, in node.id order."
  value       = module.config.server_properties
}

output "metrics_targets" {
  description = "host:port of each node's /metrics, for a Prometheus scrape config."
  value       = [for ip in aws_network_interface.nodes[*].private_ip : "${ip}:9644"]
}
