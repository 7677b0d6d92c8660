package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ice-rest-catalog/ice/config"
)

func problems(t *testing.T, text string) config.Problems {
	t.Helper()
	_, err := config.Parse([]byte(text), func(k string) string { return map[string]string{"SET": "v"}[k] })
	var ps config.Problems
	if err != nil && !errors.As(err, &ps) {
		t.Fatalf("Parse returned %T %v, want config.Problems", err, err)
	}
	return ps
}

func has(ps config.Problems, line int, msg string) bool {
	for _, p := range ps {
		if p.Line == line && strings.Contains(p.Msg, msg) {
			return true
		}
	}
	return false
}

// TestParseRefusesNoWayIn: a config without tokens, OAuth clients or OIDC,
// with anonymous access off (the default once a config is given), would
// start a catalog no client can use.
func TestParseRefusesNoWayIn(t *testing.T) {
	ps := problems(t, "warehouse: file:///w\n")
	if !has(ps, 0, "no client could use the catalog") || !strings.Contains(ps.Error(), "anonymous access off") {
		t.Errorf("no way in: %v", ps)
	}
	for _, ok := range []string{
		"anonymousAccess: {enabled: true}\n",
		"bearerTokens: [{name: a, value: b}]\n",
		"oauth: {clients: [{id: c, secretHash: 'sha256:" + strings.Repeat("a", 64) + "'}]}\n",
		"oidc: {issuer: 'https://idp', audience: ice}\n",
	} {
		if ps := problems(t, ok); len(ps) != 0 {
			t.Errorf("%q: %v", ok, ps)
		}
	}
}

func TestParseRefusesDuplicateAndReservedTokenNames(t *testing.T) {
	ps := problems(t, `bearerTokens:
  - name: etl
    value: a
  - name: etl
    value: b
  - name: anonymous
    value: c
`)
	if !has(ps, 4, `another token has the name "etl"`) {
		t.Errorf("duplicate name not at line 4: %v", ps)
	}
	if !has(ps, 6, `"anonymous" is reserved`) {
		t.Errorf("reserved name not at line 6: %v", ps)
	}
	if len(ps) != 2 {
		t.Errorf("want exactly 2 problems, got %v", ps)
	}
}

// TestParseReportsEveryProblemInOnePass: decoder errors (unknown keys, bad
// types), unset variables and semantic problems all come back together,
// each at its line, in the order of the text.
func TestParseReportsEveryProblemInOnePass(t *testing.T) {
	ps := problems(t, `uri: etcd:http://e:2379
warehouse: gs://lake

adress: 0.0.0.0:5000
shutdownGracePeriod: soon
bearerTokens:
  - name: a
    value: ${UNSET_VAR}
  - name: a
    value: x
oauth:
  clients:
    - {id: "c:1", secretHash: nope}
authorization:
  rules:
    - {principals: [user:x], access: read}
    - {principals: [token:a], access: all}
addr: 5000
`)
	want := []struct {
		line int
		msg  string
	}{
		{2, "scheme must be s3:// or file://"},
		{4, "field adress is not a known config key in Config"},
		{5, "cannot unmarshal !!str `soon` into time.Duration"},
		{8, "environment variable UNSET_VAR is not set"},
		{8, "bearerTokens[0] (a): value is empty"},
		{9, `another token has the name "a"`},
		{13, "must not contain ':'"},
		{13, "secretHash is neither"},
		{16, `principal "user:x"`},
		{17, `access "all" is not one of`},
		{18, `addr "5000" is not host:port`},
	}
	for _, w := range want {
		if !has(ps, w.line, w.msg) {
			t.Errorf("missing line %d: %s", w.line, w.msg)
		}
	}
	if len(ps) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(ps), len(want), ps)
	}
	for i := 1; i < len(ps); i++ {
		if ps[i].Line < ps[i-1].Line && ps[i].Line != 0 {
			t.Errorf("not in text order: %v", ps)
		}
	}
}

func TestParseFindsAuthSettingsStartUpWouldRefuse(t *testing.T) {
	ps := problems(t, `anonymousAccess: {enabled: true}
oauth:
  signingKey: a2V5
oidc: {issuer: idp.example.com}
tls: {certFile: /c}
etcd: {keyFile: /k}
`)
	for _, w := range []struct {
		line int
		msg  string
	}{
		{3, "oauth.signingKey holds 3 bytes"},
		{4, `oidc issuer "idp.example.com" must be an http(s) URL`},
		{5, "tls.certFile and tls.keyFile go together"},
		{6, "etcd.certFile and etcd.keyFile go together"},
	} {
		if !has(ps, w.line, w.msg) {
			t.Errorf("missing line %d: %s in %v", w.line, w.msg, ps)
		}
	}
}

func TestParseYAMLSyntaxErrorHasItsLine(t *testing.T) {
	ps := problems(t, "addr: a\n  b: c\n")
	if len(ps) != 1 || ps[0].Line != 2 || !strings.Contains(ps[0].Msg, "invalid YAML") {
		t.Errorf("syntax error: %v", ps)
	}
}
