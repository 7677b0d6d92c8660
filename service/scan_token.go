package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	ice "github.com/ice-rest-catalog/ice"
)

// A plan task is a signed, self-contained description of its work: the
// table, the metadata file that was planned, the scan's inputs and a range
// of the plan's files (sorted by path). Any replica can serve it with no
// shared state, by planning the same scan again (or finding it in its
// cache); the HMAC proves that the catalog issued it.

// planTaskVersion prefixes every token, so that the format can change.
const planTaskVersion = "pt1"

// maxPlanTasks bounds the plan tasks of one plan; larger plans get larger
// tasks rather than more of them.
const maxPlanTasks = 1000

type planTask struct {
	Namespace []string `json:"ns"`
	Table     string   `json:"t"`
	Location  string   `json:"loc"`
	Scan      scanSpec `json:"scan"`
	Offset    int      `json:"off"`
	Count     int      `json:"n"`
	Expires   int64    `json:"exp"` // unix seconds
}

func (pt planTask) table() ice.TableIdent {
	return ice.TableIdent{Namespace: pt.Namespace, Name: pt.Table}
}

// planTasks splits n planned files into signed plan tasks.
func (p *Planner) planTasks(ctx context.Context, id ice.TableIdent, loc string, spec scanSpec, n int) ([]string, error) {
	key, err := p.key.get(ctx)
	if err != nil {
		return nil, err
	}
	size := max(p.perTask, (n+maxPlanTasks-1)/maxPlanTasks)
	exp := time.Now().Add(p.ttl).Unix()
	var out []string
	for off := 0; off < n; off += size {
		tok, err := sealPlanTask(key, planTask{Namespace: id.Namespace, Table: id.Name, Location: loc, Scan: spec,
			Offset: off, Count: size, Expires: exp})
		if err != nil {
			return nil, err
		}
		out = append(out, tok)
	}
	return out, nil
}

func sealPlanTask(key []byte, pt planTask) (string, error) {
	body, err := json.Marshal(pt)
	if err != nil {
		return "", fmt.Errorf("encode plan task: %w", err)
	}
	payload := base64.RawURLEncoding.EncodeToString(body)
	return planTaskVersion + "." + payload + "." + sign(key, payload), nil
}

func sign(key []byte, payload string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(planTaskVersion + "." + payload))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// openPlanTask checks a token's signature and expiry and decodes it. Every
// failure is NoSuchPlanTask: a client cannot tell a forged token from a
// stale one, nor needs to.
func openPlanTask(key []byte, token string, now time.Time) (planTask, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != planTaskVersion {
		return planTask{}, ice.NoSuchPlanTask("not a plan task of this catalog")
	}
	want := sign(key, parts[1])
	if !hmac.Equal([]byte(want), []byte(parts[2])) {
		return planTask{}, ice.NoSuchPlanTask("its signature does not match")
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return planTask{}, ice.NoSuchPlanTask("malformed")
	}
	var pt planTask
	if err := json.Unmarshal(body, &pt); err != nil {
		return planTask{}, ice.NoSuchPlanTask("malformed")
	}
	if now.Unix() > pt.Expires {
		return planTask{}, ice.NoSuchPlanTask("it has expired; plan the scan again")
	}
	if pt.Offset < 0 || pt.Count <= 0 {
		return planTask{}, ice.NoSuchPlanTask("malformed range")
	}
	return pt, nil
}

// signingKey is the configured key, or the one kept in the PlanStore,
// fetched on first use and then held.
type signingKey struct {
	fixed []byte
	store ice.PlanStore

	mu  sync.Mutex
	got []byte
}

func (k *signingKey) get(ctx context.Context) ([]byte, error) {
	if len(k.fixed) > 0 {
		return k.fixed, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.got == nil {
		b, err := k.store.PlanSigningKey(ctx)
		if err != nil {
			return nil, err
		}
		k.got = b
	}
	return k.got, nil
}
