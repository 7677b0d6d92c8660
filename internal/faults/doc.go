// Package faults checks that the catalog neither loses nor duplicates
// commits when its parts fail.
//
// The package itself holds what the checks need and what can be unit tested
// quickly: a Recorder that writes down, at the HTTP layer of iceberg-go's
// REST client, every commit and every table load with its call and return
// times and its answer; a linearizability check of each table's history with
// porcupine; and Verify, which holds the final table history against the
// answers clients got.
//
// The fault-injection suite and the soak test are behind the build tag
// `faults` (scripts/test.sh runs them): they start a 3-member etcd cluster
// of real processes, a versitygw S3 server, and three catalog replicas built
// from cmd/ice-rest-catalog, then kill, pause, restart and cut them off while
// writers commit. docs/reliability.md holds the figures they print.
package faults
