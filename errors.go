// Package ice holds the catalog's own vocabulary: identifiers, the entries
// kept in the store, the Store interface and the error codes. It imports no
// adapter; etcd/, rest/, warehouse/ and service/ all speak in its terms.
package ice

import (
	"errors"
	"fmt"
	"strings"
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
// (NoSuchTableException, ...) where the constructor below knows it; when
// empty, rest/ derives it from Code. Adapters build errors with the
// constructors, which say what happened; rest/ alone says how it looks on
// the wire.
type Error struct {
	Code    Code
	Type    string
	Message string
	Err     error // optional cause, logged but never sent to the client
}

func (e *Error) Error() string {
	// A cause given with %w is already in the message.
	if e.Err != nil && !strings.Contains(e.Message, e.Err.Error()) {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with the given code and a message formatted as
// fmt.Errorf formats it: the operand of a %w verb reads in the message as
// with %v and stays the cause, reachable by errors.Is and errors.As.
func Errorf(code Code, format string, args ...any) *Error {
	return newError(code, "", format, args...)
}

func newError(code Code, typ, format string, args ...any) *Error {
	w := fmt.Errorf(format, args...)
	e := &Error{Code: code, Type: typ, Message: w.Error()}
	switch u := w.(type) {
	case interface{ Unwrap() error }:
		e.Err = u.Unwrap()
	case interface{ Unwrap() []error }:
		e.Err = w
	}
	return e
}

// WithCause returns e with cause as its Err: kept for the log and for
// errors.Is and errors.As, not shown to the client.
func (e *Error) WithCause(cause error) *Error {
	e.Err = cause
	return e
}

// caused returns an Error whose message is msg and whose cause is cause.
func caused(code Code, typ, msg string, cause error) *Error {
	return &Error{Code: code, Type: typ, Message: msg, Err: cause}
}

// Exception names the spec gives to situations a code alone does not tell
// apart; the constructors below set them, and IsNoSuch reads them.
const (
	typeNoSuchNamespace = "NoSuchNamespaceException"
	typeNoSuchTable     = "NoSuchTableException"
	typeNoSuchView      = "NoSuchViewException"
	typeAlreadyExists   = "AlreadyExistsException"
	typeNotEmpty        = "NamespaceNotEmptyException"
	typeCommitFailed    = "CommitFailedException"
	typeCommitUnknown   = "CommitStateUnknownException"
	typeTooMany         = "TooManyRequestsException"
	typeUnavailable     = "ServiceUnavailableException"
	typeNotFound        = "NotFoundException"
	typeEventCursorGone = "EventCursorExpiredException"
	typeNoSuchPlanID    = "NoSuchPlanIdException"
	typeNoSuchPlanTask  = "NoSuchPlanTaskException"
)

// Invalid reports a malformed request or identifier (EINVALID).
func Invalid(format string, args ...any) *Error { return newError(EINVALID, "", format, args...) }

// NotFound reports something missing that is not a namespace, table or view
// (a file, a deleted entry); see NoSuchNamespace, NoSuchTable, NoSuchView.
func NotFound(format string, args ...any) *Error {
	return newError(ENOTFOUND, typeNotFound, format, args...)
}

// AlreadyExists reports a create over an existing entry.
func AlreadyExists(format string, args ...any) *Error {
	return newError(EEXISTS, typeAlreadyExists, format, args...)
}

// NotEmpty reports the drop of a namespace that still holds entries.
func NotEmpty(format string, args ...any) *Error {
	return newError(ENOTEMPTY, typeNotEmpty, format, args...)
}

// Conflict reports an entry changed concurrently (ECONFLICT); CommitFailed
// is its form for a commit.
func Conflict(format string, args ...any) *Error { return newError(ECONFLICT, "", format, args...) }

// Unavailable reports a dependency (etcd, storage) that cannot be reached:
// msg is what the client reads, cause what the log keeps.
func Unavailable(msg string, cause error) *Error {
	return caused(EUNAVAILABLE, typeUnavailable, msg, cause)
}

// UnknownState reports a write whose outcome the store did not confirm.
func UnknownState(msg string, cause error) *Error {
	return caused(EUNKNOWNSTATE, typeCommitUnknown, msg, cause)
}

// Internal reports a bug or an unexpected failure; msg is what the client
// reads, cause what the log keeps.
func Internal(msg string, cause error) *Error { return caused(EINTERNAL, "", msg, cause) }

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
	return newError(ENOTFOUND, typeNoSuchNamespace, "Namespace does not exist: %s", ns)
}

// NoSuchTable reports a missing table.
func NoSuchTable(id TableIdent) *Error {
	return newError(ENOTFOUND, typeNoSuchTable, "Table does not exist: %s", id)
}

// IsNoSuchTable reports whether err says the table it names does not exist
// (NoSuchTable): a missing namespace or file is another case.
func IsNoSuchTable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Type == typeNoSuchTable
}

// TooManyRequests reports a client over one of its quotas or rates; it may
// retry after a while.
func TooManyRequests(format string, args ...any) *Error {
	return newError(ETOOMANY, typeTooMany, format, args...)
}

// CommitFailed reports a commit rejected because its requirements no longer hold.
func CommitFailed(format string, args ...any) *Error {
	return newError(ECONFLICT, typeCommitFailed, format, args...)
}

// CommitStateUnknown reports a commit whose outcome etcd did not confirm.
func CommitStateUnknown(err error) *Error {
	return UnknownState("the commit outcome is unknown: it may or may not have been applied; reload the table before retrying", err)
}
