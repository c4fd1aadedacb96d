# terraform test: the root module planned and applied against a mocked AWS
# provider (no account, no network). What it proves: Secrets Manager ARNs
# give each node a role that reads exactly its own secrets, secrets given
# as contents give no role at all, and plaintext stays a choice. What
# sasl_ssl refuses is modules/node-config/tests' business.

mock_provider "aws" {
  override_data {
    target = data.aws_ssm_parameter.al2023
    values = { value = "ami-0123456789abcdef0" }
  }
  override_data {
    target = data.aws_subnet.nodes
    values = { availability_zone = "eu-west-1a" }
  }
}

variables {
  vpc_id       = "vpc-0123456789abcdef0"
  subnet_id    = "subnet-0123456789abcdef0"
  client_cidrs = ["10.0.0.0/16"]
  binary_url   = "https://example.com/gokafka-server"
  super_users  = ["User:CN=gokafka-node"]
}

run "secrets_manager_arns" {
  command = plan
  variables {
    tls_keystore_arns = [
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ks-1-AAAAAA",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ks-2-BBBBBB",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ks-3-CCCCCC",
    ]
    tls_truststore_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ca-DDDDDD"
    admin_password_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:admin-EEEEEE"
  }
  assert {
    condition     = length(aws_iam_role.nodes) == 3 && length(aws_iam_instance_profile.nodes) == 3
    error_message = "want one role and instance profile per node"
  }
  assert {
    condition = jsondecode(aws_iam_role_policy.secrets[1].policy).Statement[0].Resource == [
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ks-2-BBBBBB",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ca-DDDDDD",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:admin-EEEEEE",
    ]
    error_message = "node 2's policy must name its own keystore, the truststore and the admin password, and nothing else"
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.secrets[0].policy).Statement[0].Action == "secretsmanager:GetSecretValue" && length(jsondecode(aws_iam_role_policy.secrets[0].policy).Statement) == 1
    error_message = "the policy allows secretsmanager:GetSecretValue only"
  }
}

run "contents_need_no_role" {
  command = plan
  variables {
    tls_keystore_pems  = ["K1", "K2", "K3"]
    tls_truststore_pem = "CA"
    admin_password     = "0123456789abcdefXYZ+/="
  }
  assert {
    condition     = length(aws_iam_role.nodes) == 0 && length(aws_iam_instance_profile.nodes) == 0
    error_message = "secrets given as contents need no role"
  }
}

run "plaintext" {
  command = plan
  variables {
    security = "plaintext"
  }
  assert {
    condition     = length(aws_iam_role.nodes) == 0
    error_message = "plaintext needs no role"
  }
}
