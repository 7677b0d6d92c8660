// Package ice holds the catalog's own vocabulary: identifiers, the entries
// kept in the store, the Store interface and the error codes. It imports no
// adapter; etcd/, rest/, warehouse/ and service/ all speak in its terms.
package ice

import (
	"errors"
	"fmt"
)

// Code classifies an Error. rest/ maps each code to one HTTP status and one
// Iceberg exception type, in one place.
type Code string

const (
	EINVALID       Code = "invalid"       // malformed request or identifier
	ENOTFOUND      Code = "not_found"     // namespace, table or file missing
	EEXISTS        Code = "exists"        // create over an existing entry
	ENOTEMPTY      Code = "not_empty"     // drop of a namespace that holds entries
	ECONFLICT      Code = "conflict"      // requirements failed or a concurrent commit won
	EUNKNOWNSTATE  Code = "unknown_state" // the commit may or may not have been applied
	EUNPROCESSABLE Code = "unprocessable" // well-formed but contradictory request
	EUNAUTHORIZED  Code = "unauthorized"  // no or bad credentials
	EFORBIDDEN     Code = "forbidden"     // credentials lack the right
	ETOOLARGE      Code = "too_large"     // body over the configured limit
	ETIMEOUT       Code = "timeout"       // the client sent its request too slowly
	ETOOMANY       Code = "too_many"      // a per-client quota or rate is used up; retry later
	EUNSUPPORTED   Code = "unsupported"   // valid but not served
	EUNAVAILABLE   Code = "unavailable"   // a dependency (etcd, storage) cannot be reached
	EINTERNAL      Code = "internal"      // a bug or an unexpected failure
	EGONE          Code = "gone"          // what was asked for no longer exists (a compacted event cursor)
)

// Error is an error the client may see. Type names the Iceberg exception
// (NoSuchTableException, ...); when empty, rest/ derives it from Code.
type Error struct {
	Code    Code
	Type    string
	Message string
	Err     error // optional cause, logged but never sent to the client
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// NoSuchNamespace reports a missing namespace.
func NoSuchNamespace(ns Namespace) *Error {
	return &Error{Code: ENOTFOUND, Type: "NoSuchNamespaceException", Message: fmt.Sprintf("Namespace does not exist: %s", ns)}
}

// NoSuchTable reports a missing table.
func NoSuchTable(id TableIdent) *Error {
	return &Error{Code: ENOTFOUND, Type: "NoSuchTableException", Message: fmt.Sprintf("Table does not exist: %s", id)}
}

// TooManyRequests reports a client over one of its quotas or rates; it may
// retry after a while.
func TooManyRequests(format string, args ...any) *Error {
	return &Error{Code: ETOOMANY, Type: "TooManyRequestsException", Message: fmt.Sprintf(format, args...)}
}

// CommitFailed reports a commit rejected because its requirements no longer hold.
func CommitFailed(format string, args ...any) *Error {
	return &Error{Code: ECONFLICT, Type: "CommitFailedException", Message: fmt.Sprintf(format, args...)}
}

// CommitStateUnknown reports a commit whose outcome etcd did not confirm.
func CommitStateUnknown(err error) *Error {
	return &Error{Code: EUNKNOWNSTATE, Type: "CommitStateUnknownException",
		Message: "the commit outcome is unknown: it may or may not have been applied; reload the table before retrying", Err: err}
}
