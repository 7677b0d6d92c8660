package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	ice "github.com/ice-rest-catalog/ice"
)

// Webhook POSTs each batch as a CloudEvents JSON batch
// (application/cloudevents-batch+json); any 2xx answer acknowledges it.
type Webhook struct {
	name    string
	url     string
	headers map[string]string
	client  *http.Client
}

// NewWebhook returns a webhook sink; timeout bounds one POST (default 10s).
func NewWebhook(name, url string, headers map[string]string, timeout time.Duration) *Webhook {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &Webhook{name: name, url: url, headers: headers, client: &http.Client{Timeout: timeout}}
}

func (w *Webhook) Name() string { return w.name }
func (w *Webhook) Close() error { w.client.CloseIdleConnections(); return nil }

func (w *Webhook) Send(ctx context.Context, batch []ice.CloudEvent) error {
	body, err := json.Marshal(batch)
	if err != nil {
		return fmt.Errorf("encode events: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	for k, v := range w.headers {
		req.Header.Set(k, v)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", w.name, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s answered %s", w.name, resp.Status)
	}
	return nil
}
