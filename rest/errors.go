package rest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	ice "github.com/ice-rest-catalog/ice"
)

// errorModel is the spec's ErrorModel inside its wrapper.
type errorModel struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    int    `json:"code"`
}

// statusOf is the one place where a domain error code becomes an HTTP status
// and a default Iceberg exception type.
func statusOf(code ice.Code) (int, string) {
	switch code {
	case ice.EINVALID:
		return http.StatusBadRequest, "BadRequestException"
	case ice.EUNAUTHORIZED:
		return http.StatusUnauthorized, "NotAuthorizedException"
	case ice.EFORBIDDEN:
		return http.StatusForbidden, "ForbiddenException"
	case ice.ENOTFOUND:
		return http.StatusNotFound, "NotFoundException"
	case ice.EEXISTS:
		return http.StatusConflict, "AlreadyExistsException"
	case ice.ENOTEMPTY:
		return http.StatusConflict, "NamespaceNotEmptyException"
	case ice.ECONFLICT:
		return http.StatusConflict, "CommitFailedException"
	case ice.EUNSUPPORTED:
		return http.StatusNotAcceptable, "UnsupportedOperationException"
	case ice.ETOOLARGE:
		return http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException"
	case ice.ETIMEOUT:
		return http.StatusRequestTimeout, "RequestTimeoutException"
	case ice.ETOOMANY:
		return http.StatusTooManyRequests, "TooManyRequestsException"
	case ice.EUNPROCESSABLE:
		return http.StatusUnprocessableEntity, "UnprocessableEntityException"
	case ice.EUNAVAILABLE:
		return http.StatusServiceUnavailable, "ServiceUnavailableException"
	case ice.EGONE:
		return http.StatusGone, "GoneException"
	case ice.EUNKNOWNSTATE:
		return http.StatusInternalServerError, "CommitStateUnknownException"
	}
	return http.StatusInternalServerError, "InternalServerError"
}

// writeError answers err as an ErrorModel. Errors outside the domain are
// logged and answered with a generic 500: their text may hold internals.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *ice.Error
	if !errors.As(err, &e) {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return // the client went away; nobody reads an answer
		}
		h.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &ice.Error{Code: ice.EINTERNAL, Message: "internal server error; see the catalog's log"}
	}
	status, typ := statusOf(e.Code)
	if e.Type != "" {
		typ = e.Type
	}
	if status >= 500 {
		h.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	writeJSON(w, status, errorModel{Error: errorBody{Message: e.Message, Type: typ, Code: status}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		slog.Error("encode response", "err", err) // a bug: our types always encode
		status, body = http.StatusInternalServerError, []byte(`{"error":{"message":"cannot encode response","type":"InternalServerError","code":500}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
