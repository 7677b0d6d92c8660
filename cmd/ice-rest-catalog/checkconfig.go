package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ice-rest-catalog/ice/config"
)

// checkConfig implements `ice-rest-catalog check-config FILE`: it runs the
// file through config.Parse, the validation start-up runs (strict keys,
// ${VAR} from this environment, defaults, every value start-up would
// refuse). It prints every problem it finds and returns an error, so the
// exit code is non-zero.
func checkConfig(args []string, out io.Writer) error {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return usageError{errors.New("usage: ice-rest-catalog check-config FILE")}
	}
	path := args[0]
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("check-config: %w", err)
	}
	// The same validation as start-up's (config.Find): every problem, YAML
	// and semantic alike, in one pass.
	cfg, err := config.Parse(data, os.Getenv)
	var ps config.Problems
	if errors.As(err, &ps) {
		lines := make([]string, len(ps))
		for i, p := range ps {
			lines[i] = p.String()
		}
		return fmt.Errorf("%s: invalid config:\n  %s", path, strings.Join(lines, "\n  "))
	} else if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, k := range cfg.Ignored() {
		fmt.Fprintf(out, "%s: note: %s is accepted for compatibility with the Java ice-rest-catalog but not acted on\n", path, k)
	}
	etcdDesc := "embedded etcd in " + cfg.DataDir + "/etcd"
	if e := cfg.EtcdEndpoints(); e != nil {
		etcdDesc = "etcd " + strings.Join(e, ",")
	}
	fmt.Fprintf(out, "%s: OK: %s, warehouse %s, addr %s, debugAddr %s, shutdownGracePeriod %s\n",
		path, etcdDesc, cfg.Warehouse, cfg.Addr, cfg.DebugAddr, cfg.ShutdownGracePeriod)
	return nil
}
