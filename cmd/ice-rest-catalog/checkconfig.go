package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/ice-rest-catalog/ice/config"
)

// checkConfig implements `ice-rest-catalog check-config FILE`: it parses the
// file exactly as the server would (strict keys, ${VAR} from this
// environment, defaults) and then checks what only start-up would find out:
// listen addresses, etcd endpoint URLs and the warehouse scheme. It prints
// every problem it finds and returns an error, so the exit code is non-zero.
func checkConfig(args []string, out io.Writer) error {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return errors.New("usage: ice-rest-catalog check-config FILE")
	}
	path := args[0]
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("check-config: %w", err)
	}
	cfg, err := config.Parse(data, os.Getenv)
	if err != nil {
		// yaml.v3 lists every decoder error on its own "  line N:" line.
		msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n")
		return fmt.Errorf("%s: invalid config:\n  %s", path, strings.TrimLeft(msg, " "))
	}
	if problems := checkValues(cfg); len(problems) > 0 {
		return fmt.Errorf("%s: invalid config:\n  %s", path, strings.Join(problems, "\n  "))
	}
	for _, k := range cfg.Ignored() {
		fmt.Fprintf(out, "%s: note: %s is accepted for compatibility with the Java ice-rest-catalog but not acted on: %s\n", path, k.Key, k.Reason)
	}
	etcdDesc := "embedded etcd in " + cfg.DataDir + "/etcd"
	if e := cfg.EtcdEndpoints(); e != nil {
		etcdDesc = "etcd " + strings.Join(e, ",")
	}
	fmt.Fprintf(out, "%s: OK: %s, warehouse %s, addr %s, debugAddr %s, shutdownGracePeriod %s\n",
		path, etcdDesc, cfg.Warehouse, cfg.Addr, cfg.DebugAddr, cfg.ShutdownGracePeriod)
	return nil
}

// checkValues finds values that parse but would fail at start-up.
func checkValues(cfg *config.Config) []string {
	var p []string
	for _, a := range []struct{ key, val string }{{"addr", cfg.Addr}, {"debugAddr", cfg.DebugAddr}} {
		if _, port, err := net.SplitHostPort(a.val); err != nil {
			p = append(p, fmt.Sprintf("%s %q is not host:port: %v", a.key, a.val, err))
		} else if port == "" {
			p = append(p, fmt.Sprintf("%s %q has no port", a.key, a.val))
		}
	}
	if cfg.Addr == cfg.DebugAddr {
		p = append(p, fmt.Sprintf("addr and debugAddr are both %q", cfg.Addr))
	}
	for _, e := range cfg.EtcdEndpoints() {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p = append(p, fmt.Sprintf("uri: etcd endpoint %q is not http://host:port or https://host:port", e))
		}
	}
	switch u, err := url.Parse(cfg.Warehouse); {
	case err != nil:
		p = append(p, fmt.Sprintf("warehouse %q: %v", cfg.Warehouse, err))
	case u.Scheme == "s3" && u.Host == "":
		p = append(p, fmt.Sprintf("warehouse %q names no bucket: s3://bucket/prefix", cfg.Warehouse))
	case u.Scheme != "s3" && u.Scheme != "s3a" && u.Scheme != "file":
		p = append(p, fmt.Sprintf("warehouse %q: scheme must be s3:// or file://", cfg.Warehouse))
	}
	for i, t := range cfg.BearerTokens {
		if t.Value == "" {
			p = append(p, fmt.Sprintf("bearerTokens[%d] (%s): value is empty", i, t.Name))
		}
	}
	if cfg.MaxRequestBodyBytes < 0 {
		p = append(p, "maxRequestBodyBytes must not be negative")
	}
	if cfg.MetadataCacheBytes < 0 {
		p = append(p, "metadataCacheBytes must not be negative")
	}
	return p
}
