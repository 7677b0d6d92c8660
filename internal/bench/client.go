package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// do sends a request to the catalog and reads the whole answer (so the
// connection is reused); a status other than want is an error.
func (s *stack) do(ctx context.Context, method, path string, body []byte, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return s.send(req, want)
}

// discard is do for answers nobody reads: they are drained, not kept.
func (s *stack) discard(ctx context.Context, method, path string, body []byte, want int) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, rd)
	if err != nil {
		return err
	}
	return s.discardReq(req, want)
}

// discardReq sends req and drains its answer.
func (s *stack) discardReq(req *http.Request, want int) error {
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: HTTP %d: %s", req.Method, req.URL.Path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func (s *stack) send(req *http.Request, want int) ([]byte, error) {
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: HTTP %d: %.300s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return b, nil
}

// s3Put and s3Get talk to the S3 server directly, signed, for the baselines
// and to place metadata files.
func (s *stack) s3Put(ctx context.Context, key string, body []byte) error {
	req, err := s.s3.NewRequest(ctx, http.MethodPut, "/"+bucket+"/"+key, body)
	if err != nil {
		return err
	}
	_, err = s.send(req, http.StatusOK)
	return err
}

func (s *stack) s3Get(ctx context.Context, key string) error {
	req, err := s.s3.NewRequest(ctx, http.MethodGet, "/"+bucket+"/"+key, nil)
	if err != nil {
		return err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", key, resp.StatusCode)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps and structs of plain values are encoded here
	}
	return b
}
