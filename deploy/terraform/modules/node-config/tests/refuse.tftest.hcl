# terraform test: what node-config refuses before anything is rendered.
# Each run leaves out or garbles one piece of a secured cluster's material
# and expects the check that names it to fail; the first run, complete,
# shows that the same inputs otherwise pass.

variables {
  node_ips           = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
  tls_keystore_pems  = ["K1", "K2", "K3"]
  tls_truststore_pem = "CA"
  admin_password     = "0123456789abcdefXYZ+/="
  super_users        = ["User:CN=gokafka-node"]
}

run "complete" {
  command = apply
  assert {
    condition     = strcontains(output.user_data[1], "\nK2\n") && !strcontains(output.user_data[1], "\nK1\n")
    error_message = "node 2's user_data must carry its own keystore and no other"
  }
}

run "no_keystore" {
  command = plan
  variables {
    tls_keystore_pems = []
  }
  expect_failures = [output.user_data]
}

run "keystore_twice" {
  command = plan
  variables {
    tls_keystore_arns = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:a-A", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:b-B", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:c-C"]
  }
  expect_failures = [output.user_data]
}

run "keystore_per_node" {
  command = plan
  variables {
    tls_keystore_pems = ["K1", "K2"]
  }
  expect_failures = [output.user_data]
}

run "no_truststore" {
  command = plan
  variables {
    tls_truststore_pem = ""
  }
  expect_failures = [output.user_data]
}

run "no_password" {
  command = plan
  variables {
    admin_password = ""
  }
  expect_failures = [output.user_data]
}

run "short_password" {
  command = plan
  variables {
    admin_password = "short"
  }
  expect_failures = [var.admin_password]
}

run "quote_in_password" {
  command = plan
  variables {
    admin_password = "0123456789abcdef\"XYZ"
  }
  expect_failures = [var.admin_password]
}

run "no_node_principals" {
  command = plan
  variables {
    super_users = []
  }
  expect_failures = [output.user_data]
}

run "not_an_arn" {
  command = plan
  variables {
    tls_truststore_pem = ""
    tls_truststore_arn = "arn:aws:s3:::bucket/ca.pem"
  }
  expect_failures = [output.user_data]
}

run "plaintext_needs_nothing" {
  command = apply
  variables {
    security           = "plaintext"
    tls_keystore_pems  = []
    tls_truststore_pem = ""
    admin_password     = ""
    super_users        = []
  }
  assert {
    condition     = !strcontains(output.server_properties[0], "SASL") && !strcontains(output.user_data[0], "/etc/gokafka/secrets/")
    error_message = "plaintext renders no security"
  }
}
