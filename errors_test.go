package ice

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

// A cause given with %w stays reachable while the client reads the same
// message %v would have made, and the log line does not repeat it.
func TestConstructorsKeepTheCause(t *testing.T) {
	cause := fmt.Errorf("open x: %w", fs.ErrNotExist)
	for _, c := range []struct {
		name string
		err  *Error
		code Code
		typ  string
		msg  string
	}{
		{"Errorf", Errorf(EUNPROCESSABLE, "policy: %w", cause), EUNPROCESSABLE, "", "policy: open x: file does not exist"},
		{"Invalid", Invalid("invalid updates for %s: %w", "db.t", cause), EINVALID, "", "invalid updates for db.t: open x: file does not exist"},
		{"CommitFailed", CommitFailed("requirement failed for %s: %w", "db.t", cause), ECONFLICT, "CommitFailedException", "requirement failed for db.t: open x: file does not exist"},
		{"Unavailable", Unavailable("the catalog store is unavailable; retry later", cause), EUNAVAILABLE, "ServiceUnavailableException", "the catalog store is unavailable; retry later"},
		{"UnknownState", UnknownState("commit: not confirmed", cause), EUNKNOWNSTATE, "CommitStateUnknownException", "commit: not confirmed"},
		{"Internal", Internal("internal server error", cause), EINTERNAL, "", "internal server error"},
		{"WithCause", NotFound("metadata file %s does not exist", "s3://b/m.json").WithCause(cause), ENOTFOUND, "NotFoundException", "metadata file s3://b/m.json does not exist"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !errors.Is(c.err, fs.ErrNotExist) {
				t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", c.err)
			}
			if c.err.Code != c.code || c.err.Type != c.typ || c.err.Message != c.msg {
				t.Errorf("got {%s %q %q}, want {%s %q %q}", c.err.Code, c.err.Type, c.err.Message, c.code, c.typ, c.msg)
			}
			want := fmt.Sprintf("%s: %s", c.code, c.msg)
			if c.typ == "ServiceUnavailableException" || c.typ == "CommitStateUnknownException" || c.code == EINTERNAL || c.code == ENOTFOUND {
				want += ": open x: file does not exist" // the cause, not in the message
			}
			if got := c.err.Error(); got != want {
				t.Errorf("Error() = %q, want %q", got, want)
			}
		})
	}
}

// Without %w nothing is wrapped, and a % in an operand is not a verb.
func TestErrorfWithoutCause(t *testing.T) {
	e := AlreadyExists("Table already exists: %s", TableIdent{Namespace: Namespace{"db"}, Name: "100%v"})
	if e.Err != nil || e.Message != "Table already exists: db.100%v" || e.Code != EEXISTS || e.Type != "AlreadyExistsException" {
		t.Fatalf("got %#v", e)
	}
	if got := e.Error(); got != "exists: Table already exists: db.100%v" {
		t.Fatalf("Error() = %q", got)
	}
}

// IsNoSuchTable tells a missing table from the other not-found errors,
// also through a wrap.
func TestIsNoSuchTable(t *testing.T) {
	id := TableIdent{Namespace: Namespace{"db"}, Name: "t"}
	if !IsNoSuchTable(fmt.Errorf("load: %w", NoSuchTable(id))) {
		t.Error("a wrapped NoSuchTable is not recognised")
	}
	for _, err := range []error{NoSuchView(id), NoSuchNamespace(id.Namespace), NotFound("metadata file x does not exist"), errors.New("Table does not exist: db.t"), nil} {
		if IsNoSuchTable(err) {
			t.Errorf("IsNoSuchTable(%v) = true", err)
		}
	}
}
