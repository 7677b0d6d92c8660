// Package testenv starts the real external processes that integration tests
// run against, all on 127.0.0.1 with free ports and data under t.TempDir():
//
//   - StartEtcdCluster: an n-member etcd cluster, with helpers to find the
//     leader and to kill, pause, resume and restart members;
//   - StartS3: a versitygw S3 gateway on its posix backend, with a bucket
//     helper and a minimal SigV4 signer (S3Server.NewRequest);
//   - StartMinIO: a single-drive MinIO, for what versitygw lacks: STS
//     AssumeRole with session policies;
//   - StartProc/Proc: any binary, with its output logged to a file whose tail
//     is printed when the test fails.
//
// Every process is killed by t.Cleanup; a child also dies with the test
// binary (Linux parent-death signal), so a timed-out run leaves no servers
// behind. The package is Linux-only for that reason.
//
// The binaries are not on PATH and not in go.mod: scripts/install-tools.sh
// builds the versions pinned in tools/go.mod into a cache and prints
// `export ICE_TOOLS_BIN=...`. ToolPath finds them there (or in the script's
// default cache dir) and skips the test if they are missing, or fails it
// when ICE_REQUIRE_TOOLS=1, as CI should set.
package testenv
