package security

import "testing"

// externalFamilies are the clients run as processes.
func externalFamilies() []family { return nil }

type failure struct {
	name string
	run  func(t *testing.T, s *secured)
}

func failures() []failure { return nil }
