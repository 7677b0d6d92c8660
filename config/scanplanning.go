package config

import (
	"fmt"
	"time"
)

// ScanPlanning configures server-side scan planning (the plan and tasks
// endpoints). The zero value serves it with the defaults below.
type ScanPlanning struct {
	// Disabled stops serving and advertising the endpoints.
	Disabled bool `yaml:"disabled"`
	// SigningKey signs plan tasks; at least 16 bytes, the same on every
	// replica. Empty: a random key generated once and kept in etcd.
	SigningKey string `yaml:"signingKey"`
	// FilesPerTask is the most file scan tasks one answer carries; larger
	// plans are split into plan tasks. Default 1000.
	FilesPerTask int `yaml:"filesPerTask"`
	// AsyncAfter is how long planTableScan waits before answering
	// "submitted". Default 2s; negative makes every plan asynchronous.
	AsyncAfter time.Duration `yaml:"asyncAfter"`
	// PlanTimeout bounds one planning run. Default 10m.
	PlanTimeout time.Duration `yaml:"planTimeout"`
	// PlanTTL is how long an asynchronous plan and a plan task stay valid.
	// Default 1h.
	PlanTTL time.Duration `yaml:"planTTL"`
}

func (s ScanPlanning) check() error {
	if s.SigningKey != "" && len(s.SigningKey) < 16 {
		return fmt.Errorf("scanPlanning.signingKey must be at least 16 bytes long")
	}
	if s.FilesPerTask < 0 {
		return fmt.Errorf("scanPlanning.filesPerTask must not be negative")
	}
	return nil
}
