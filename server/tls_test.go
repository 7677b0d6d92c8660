package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/ice-rest-catalog/ice/internal/testenv"
	"github.com/ice-rest-catalog/ice/server"
)

// testCA issues certificates for 127.0.0.1, made in the test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a leaf certificate for 127.0.0.1 (server and client use)
// with the given serial to certFile and keyFile.
func (ca *testCA) issue(t *testing.T, serial int64, cn, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The API serves HTTPS only, and picks up a rotated certificate without a
// restart.
func TestTLSListenerReloadsCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca.issue(t, 100, "first", certFile, keyFile)
	cfg := parseConfig(t, "anonymousAccess: {enabled: true}\ntls: {certFile: "+certFile+", keyFile: "+keyFile+", reloadCheckInterval: 1ns}\n")
	srv, err := server.Start(context.Background(), cfg, testenv.DiscardLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.pool}, DisableKeepAlives: true}}
	serial := func() int64 {
		t.Helper()
		resp, err := client.Get("https://" + srv.Addr() + "/v1/config")
		if err != nil {
			t.Fatalf("https: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("https /v1/config: %d", resp.StatusCode)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != 100 {
		t.Fatalf("serial %d, want 100", got)
	}

	// TLS-only: plain HTTP is refused with 400 and reaches no handler.
	resp, err := http.Post("http://"+srv.Addr()+"/v1/namespaces", "application/json", strings.NewReader(`{"namespace":["plain"]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "HTTPS") {
		t.Fatalf("plain HTTP to the TLS listener: %d %s", resp.StatusCode, body)
	}

	// Rotate in place. The new pair gets a later mtime than the old one
	// whatever the file system's timestamp granularity.
	ca.issue(t, 200, "second", certFile, keyFile)
	later := time.Now().Add(time.Minute)
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, later, later); err != nil {
			t.Fatal(err)
		}
	}
	if got := serial(); got != 200 {
		t.Fatalf("after rotation serial %d, want 200", got)
	}
	// A half-written pair (key missing) keeps the previous certificate.
	writeFile(t, keyFile, []byte("not a key"))
	if err := os.Chtimes(keyFile, later.Add(time.Minute), later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := serial(); got != 200 {
		t.Fatalf("after a broken rotation serial %d, want 200 still", got)
	}
	resp, err = client.Get("https://" + srv.Addr() + "/v1/namespaces/plain")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("the plain HTTP request created a namespace: %d", resp.StatusCode)
	}
}

// startSecureEtcd starts an embedded etcd that requires client
// certificates signed by ca, and turns on etcd authentication with user
// root / rootpw.
func startSecureEtcd(t *testing.T, ca *testCA, dir string) string {
	t.Helper()
	caFile := filepath.Join(dir, "ca.crt")
	writeFile(t, caFile, ca.pem)
	srvCert, srvKey := filepath.Join(dir, "etcd.crt"), filepath.Join(dir, "etcd.key")
	ca.issue(t, 10, "etcd", srvCert, srvKey)
	cfg := embed.NewConfig()
	cfg.Dir = filepath.Join(dir, "data")
	cfg.Name = "secure"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	client := url.URL{Scheme: "https", Host: "127.0.0.1:0"}
	peer := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	// etcd checks passwords with bcrypt at every client connect; its
	// default cost takes seconds under -race on a loaded machine, past the
	// catalog's 5s dial timeout.
	cfg.BcryptCost = 4
	cfg.ClientTLSInfo = transport.TLSInfo{CertFile: srvCert, KeyFile: srvKey, TrustedCAFile: caFile, ClientCertAuth: true}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		t.Fatal("secure etcd not ready")
	}
	endpoint := "https://" + e.Clients[0].Addr().String()

	cliCert, cliKey := filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	ca.issue(t, 11, "root", cliCert, cliKey)
	pair, err := tls.LoadX509KeyPair(cliCert, cliKey)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 10 * time.Second, Logger: zap.NewNop(),
		TLS: &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{pair}}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.RoleAdd(ctx, "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.UserAdd(ctx, "root", "rootpw"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.UserGrantRole(ctx, "root", "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.AuthEnable(ctx); err != nil {
		t.Fatal(err)
	}
	return endpoint
}

// The catalog reaches an etcd that wants TLS client certificates and a
// password; without the password it does not start.
func TestEtcdTLSAndAuth(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	endpoint := startSecureEtcd(t, ca, dir)
	etcdYAML := func(password string) string {
		return "uri: etcd:" + endpoint + "\nwarehouse: file://" + t.TempDir() + "\nanonymousAccess: {enabled: true, accessConfig: {readOnly: false}}\n" +
			"etcd: {caFile: " + filepath.Join(dir, "ca.crt") + ", certFile: " + filepath.Join(dir, "client.crt") +
			", keyFile: " + filepath.Join(dir, "client.key") + ", username: root, password: " + password + "}\n"
	}
	cat := testenv.StartCatalog(t, parseConfig(t, etcdYAML("rootpw")))
	if st, b := call(t, "POST", cat.URL+"/v1/namespaces", "", map[string]any{"namespace": []string{"secure"}}); st != 200 {
		t.Fatalf("create namespace through TLS etcd: %d %v", st, b)
	}
	if st, _ := call(t, "GET", cat.URL+"/v1/namespaces/secure", "", nil); st != 200 {
		t.Fatalf("load namespace: %d", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if srv, err := server.Start(ctx, parseConfig(t, etcdYAML("wrong")), testenv.DiscardLogger()); err == nil {
		_ = srv.Shutdown(ctx)
		t.Fatal("the catalog started with a wrong etcd password")
	}
}
