package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	ice "github.com/ice-rest-catalog/ice"
	"github.com/ice-rest-catalog/ice/auth"
)

// The change feed over server-sent events, and the deleted area
// (docs/events.md). Neither is part of the Iceberg REST spec.

const (
	eventsPath  = "/management/v1/events"
	deletedPath = "/management/v1/namespaces/{namespace}/deleted"
)

// heartbeat is how often an idle stream gets a comment line, so proxies
// keep it open and a dead client is noticed.
const heartbeat = 15 * time.Second

// eventFeed is what the change feed's stream needs besides the Handler.
type eventFeed struct {
	feed    ice.ChangeFeed // nil: the stream is unrouted
	source  string         // the CloudEvents "source"
	closing <-chan struct{}
	// streams holds a slot per open stream (nil: no limit).
	streams chan struct{}
}

// open takes a stream's slot, and returns the function that gives it back.
func (f *eventFeed) open(w http.ResponseWriter) (func(), error) {
	if f.streams == nil {
		return func() {}, nil
	}
	select {
	case f.streams <- struct{}{}:
		return func() { <-f.streams }, nil
	default:
		// A stream lasts as long as its consumer: a slot may be long in
		// coming, so the client retries later, here or on another replica.
		w.Header().Set("Retry-After", "5")
		return nil, ice.Errorf(ice.EUNAVAILABLE,
			"this replica holds its limit of %d event streams (limits.maxEventStreams); retry later", cap(f.streams))
	}
}

func (h *Handler) managementRoutes() []route {
	var rts []route
	if h.events.feed != nil {
		rts = append(rts, route{"GET " + eventsPath, h.streamEvents, false})
	}
	rts = append(rts,
		route{"GET " + deletedPath, h.listDeleted, false},
		route{"POST " + deletedPath + "/{id}/undrop", h.undrop, false})
	return rts
}

// streamEvents serves GET /management/v1/events: the events after the
// cursor (Last-Event-ID, else ?after=, else now), filtered, and only those
// of namespaces the principal may read.
func (h *Handler) streamEvents(w http.ResponseWriter, r *http.Request, _ *input) error {
	q := r.URL.Query()
	ctx := r.Context()
	var after ice.Cursor
	cur := r.Header.Get("Last-Event-ID")
	if cur == "" {
		cur = q.Get("after")
	}
	switch cur {
	case "", "now":
		head, err := h.events.feed.Head(ctx)
		if err != nil {
			return err
		}
		after = ice.Cursor{Revision: head}
	default:
		c, err := ice.ParseCursor(cur)
		if err != nil {
			return err
		}
		after = c
	}
	filter, err := h.eventFilter(r)
	if err != nil {
		return err
	}
	if err := h.events.feed.Check(ctx, after); err != nil {
		return err
	}
	closeStream, err := h.events.open(w)
	if err != nil {
		return err
	}
	defer closeStream()
	// A stream lasts as long as its consumer: it must not hold one of the
	// slots of limits.maxRequestsInFlight, which bound requests in progress;
	// limits.maxEventStreams bounds the streams instead.
	if release, ok := ctx.Value(inFlightSlot{}).(func()); ok {
		release()
	}
	rc := http.NewResponseController(w)
	// A stream outlives the server's write timeout.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		h.log.WarnContext(ctx, "event stream cannot lift the write timeout; it will be cut at the timeout and the client will reconnect", "err", err)
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The first comment says where the stream starts, so a consumer that
	// saw no event yet still has a cursor to resume from.
	fmt.Fprintf(w, ": cursor %s\n\n", after)
	_ = rc.Flush()

	events := make(chan ice.Event, 64)
	errc := make(chan error, 1)
	go func() {
		defer close(events)
		errc <- h.events.feed.Watch(ctx, after, func(e ice.Event) error {
			select {
			case events <- e:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				if err := <-errc; err != nil && ctx.Err() == nil {
					// Headers are gone: say it in the stream, then end it;
					// the client reconnects with its Last-Event-ID.
					var ce *ice.CursorCompactedError
					if errors.As(err, &ce) {
						fmt.Fprintf(w, "event: error\ndata: %s\n\n", jsonString(ce.Error()))
					} else {
						fmt.Fprintf(w, "event: error\ndata: %s\n\n", jsonString("the stream ended; reconnect with the last event id"))
						h.log.WarnContext(ctx, "event stream ended", "err", err)
					}
					_ = rc.Flush()
				}
				return nil
			}
			if !filter.Match(e) {
				continue
			}
			body, err := json.Marshal(e.CloudEvent(h.events.source))
			if err != nil {
				h.log.ErrorContext(ctx, "encode event", "err", err)
				return nil
			}
			if _, err := fmt.Fprintf(w, "id: %s\ndata: %s\n\n", e.Cursor(), body); err != nil {
				return nil
			}
			if len(events) == 0 {
				_ = rc.Flush()
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return nil
			}
			_ = rc.Flush()
		case <-ctx.Done():
			return nil
		case <-h.events.closing: // nil unless set: never ready
			return nil
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// eventFilter reads ?namespace=, ?table= and ?type= (repeatable or comma
// separated), and limits the stream to what the principal may read.
func (h *Handler) eventFilter(r *http.Request) (ice.EventFilter, error) {
	q := r.URL.Query()
	var f ice.EventFilter
	if v := q.Get("namespace"); v != "" {
		ns := ice.Namespace(strings.FieldsFunc(v, func(c rune) bool { return c == '.' || c == 0x1f }))
		if err := ice.ValidateNamespace(ns); err != nil {
			return f, err
		}
		f.Namespace = ns
	}
	f.Table = q.Get("table")
	if f.Table != "" && len(f.Namespace) == 0 {
		return f, ice.Errorf(ice.EINVALID, "the table filter needs a namespace filter")
	}
	for _, v := range q["type"] {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if !isEventType(t) {
				return f, ice.Errorf(ice.EINVALID, "unknown event type %q; known types: %s", t, strings.Join(ice.EventTypes, ", "))
			}
			if f.Types == nil {
				f.Types = map[string]bool{}
			}
			f.Types[t] = true
		}
	}
	who, _ := auth.FromContext(r.Context())
	allowed := map[string]bool{}
	f.Allowed = func(ns ice.Namespace) bool {
		k := ns.String()
		ok, seen := allowed[k]
		if !seen {
			ok = h.authz.Allowed(who, auth.Read, ns)
			allowed[k] = ok
		}
		return ok
	}
	return f, nil
}

func isEventType(t string) bool {
	for _, k := range ice.EventTypes {
		if k == t {
			return true
		}
	}
	return false
}

// listDeleted serves GET .../namespaces/{ns}/deleted.
func (h *Handler) listDeleted(w http.ResponseWriter, r *http.Request, _ *input) error {
	ns, err := namespaceParam(r)
	if err != nil {
		return err
	}
	list, err := h.svc.ListDeleted(r.Context(), ns)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": list})
	return nil
}

// undrop serves POST .../deleted/{id}/undrop with an optional body
// {"name": "new_name"}.
func (h *Handler) undrop(w http.ResponseWriter, r *http.Request, in *input) error {
	ns, err := namespaceParam(r)
	if err != nil {
		return err
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := in.decodeOptional(&req); err != nil {
		return err
	}
	d, to, err := h.svc.Undrop(r.Context(), ns, r.PathValue("id"), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": d.ID, "kind": d.Kind,
		"identifier": tableIdentifier{Namespace: to.Namespace, Name: to.Name}, "metadata-location": d.MetadataLocation})
	return nil
}
