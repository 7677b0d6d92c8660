package config_test

import (
	"strings"
	"testing"

	"github.com/ice-rest-catalog/ice/config"
)

// FuzzParse: any config text either fails with an error or yields a config
// a server can start from: defaults applied, a valid catalog name, a
// warehouse, and etcd endpoints whenever uri is set.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "addr: 127.0.0.1:5000\n", "uri: etcd:http://e:2379\nwarehouse: s3://b/p\n",
		"name: ${NAME}\n", "s3: {pathStyleAccess: ${FLAG}}\n", "name: t\n", "unknownKey: 1\n",
		"bearerTokens: [{name: a, value: b, accessConfig: {readOnly: true}}]\n", "uri: 'etcd:,'\n", "{",
		"anonymousAccess: {enabled: true}\nmaxRequestBodyBytes: -1\n", "&a [*a, *a]\n",
	} {
		f.Add(s)
	}
	env := func(k string) string {
		return map[string]string{"NAME": "prod", "FLAG": "true", "EMPTY": ""}[k]
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := config.Parse([]byte(text), env)
		if err != nil {
			return
		}
		if c.Addr == "" || c.DebugAddr == "" || c.DataDir == "" || c.Warehouse == "" {
			t.Fatalf("%q: defaults not applied: %+v", text, c)
		}
		if c.Name == "" || strings.Contains(c.Name, "/") || c.Name == "n" || c.Name == "t" || c.Name == "v" {
			t.Fatalf("%q: accepted catalog name %q", text, c.Name)
		}
		if c.URI != "" && len(c.EtcdEndpoints()) == 0 {
			t.Fatalf("%q: uri %q with no endpoint accepted", text, c.URI)
		}
	})
}
