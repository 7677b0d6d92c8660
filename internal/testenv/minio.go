package testenv

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// minioReadyTimeout bounds MinIO's start-up: it formats its drive on the
// first start, which takes a few seconds on a loaded machine.
const minioReadyTimeout = 60 * time.Second

// MinIO is a single-drive MinIO server under t.TempDir(). Unlike versitygw
// it implements STS AssumeRole with inline session policies, which the
// vended-credentials tests need; its STS endpoint is its S3 endpoint.
type MinIO struct {
	Endpoint  string // http://127.0.0.1:port, S3 and STS
	AccessKey string // root user
	SecretKey string
	Region    string

	proc *Proc
}

// StartMinIO starts MinIO on a free loopback port and waits until it is
// ready. The process is killed when the test ends.
func StartMinIO(t testing.TB) *MinIO {
	t.Helper()
	bin := ToolPath(t, "minio")
	m := &MinIO{
		Endpoint:  fmt.Sprintf("http://127.0.0.1:%d", FreePort(t)),
		AccessKey: "testenv-root",
		SecretKey: "testenv-root-secret",
		Region:    "us-east-1",
	}
	m.proc = StartProc(t, ProcSpec{
		Name: "minio", Path: bin,
		Args: []string{"server", "--quiet",
			"--address", m.Endpoint[len("http://"):],
			"--console-address", fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
			filepath.Join(t.TempDir(), "minio-data")},
		Env: []string{
			"MINIO_ROOT_USER=" + m.AccessKey,
			"MINIO_ROOT_PASSWORD=" + m.SecretKey,
			"MINIO_REGION=" + m.Region,
			// Hermetic: no update checks, no browser, no call-home.
			"MINIO_UPDATE=off",
			"MINIO_BROWSER=off",
			"MINIO_CALLHOME_ENABLE=off",
		},
	})
	m.waitReady(t)
	return m
}

// Proc returns the server's process.
func (m *MinIO) Proc() *Proc { return m.proc }

// The cluster health endpoint answers 200 only once the drive is formatted
// and the object layer can serve requests.
func (m *MinIO) waitReady(t testing.TB) {
	t.Helper()
	waitHealthy(t, m.proc, "minio", m.Endpoint+"/minio/health/cluster", minioReadyTimeout)
}

// root is the server as a root-credentialed S3 endpoint, for the SigV4
// helpers shared with versitygw.
func (m *MinIO) root() *S3Server {
	return &S3Server{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Region: m.Region}
}

// CreateBucket creates bucket name with the root credentials.
func (m *MinIO) CreateBucket(t testing.TB, name string) { t.Helper(); m.root().CreateBucket(t, name) }

// NewRequest returns a path-style request signed with the root credentials.
func (m *MinIO) NewRequest(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	return m.root().NewRequest(ctx, method, path, body)
}
