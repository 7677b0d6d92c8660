package rest

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
)

// writeTableResult answers a LoadTableResult (or a CommitTableResponse when
// cfg is nil), with creds as its storage-credentials, without re-encoding the metadata: md is the metadata file's
// own bytes, already JSON (iceberg-go parsed them, or encoded them, before
// they reached the cache), so they are written as they are around a small
// envelope. Encoding them as a json.RawMessage would scan and copy the
// whole file on every request: for a 3 MB metadata file that is most of a
// loadTable's time and a per-request buffer of the file's size.
func writeTableResult(w http.ResponseWriter, status int, location string, md []byte, cfg map[string]string, creds []storageCredential) {
	var head []byte
	head = append(head, '{')
	if location != "" { // a staged create has none yet
		loc, _ := json.Marshal(location) // a string always encodes
		head = append(append(append(head, `"metadata-location":`...), loc...), ',')
	}
	head = append(head, `"metadata":`...)
	tail := []byte{'}'}
	if cfg != nil {
		c, err := json.Marshal(cfg)
		if err != nil { // a map of strings always encodes
			slog.Error("encode table config", "err", err)
			c = []byte("{}")
		}
		tail = append(append([]byte(`,"config":`), c...), '}')
	}
	if len(creds) > 0 {
		c, err := json.Marshal(creds)
		if err != nil { // prefixes and maps of strings always encode
			slog.Error("encode storage credentials", "err", err)
			c = []byte("[]")
		}
		tail = append(append([]byte(`,"storage-credentials":`), c...), tail...)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(head)+len(md)+len(tail)))
	w.WriteHeader(status)
	for _, b := range [][]byte{head, md, tail} {
		if _, err := w.Write(b); err != nil {
			return // the client went away
		}
	}
}
