package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"
)

// dbFigures is etcd's database growth per commit, before any compaction:
// each commit keeps the old revision of the pointer in etcd's history.
type dbFigures struct {
	PerCommit, RevsPerCommit float64
	Bytes, Revisions         int64
	Commits                  int64 // table appends, failed ones included
}

type dbStat struct{ size, inUse, rev int64 }

func (r *runner) dbSize(ctx context.Context) (dbStat, error) {
	st, err := r.s.etcd.Status(ctx, r.s.etcdEndpoint)
	if err != nil {
		return dbStat{}, fmt.Errorf("etcd status: %w", err)
	}
	return dbStat{size: st.DbSize, inUse: st.DbSizeInUse, rev: st.Header.Revision}, nil
}

// scaleFigures are the measurements with ScaleTables tables in one
// namespace, written straight into etcd.
type scaleFigures struct {
	Tables                 int
	WriteTime              time.Duration
	DBBefore, DBAfter      dbStat
	Load, ListPage         []Point
	FullWalk               time.Duration // listing every table, 1,000 a page
	Pages                  int
	RSSBeforeWalk, RSSWalk int64 // server RSS before the walk and its peak during it
}

func (r *runner) scale(ctx context.Context) (*scaleFigures, error) {
	n := r.opt.ScaleTables
	sf := &scaleFigures{Tables: n}
	var err error
	if sf.DBBefore, err = r.dbSize(ctx); err != nil {
		return nil, err
	}
	r.log.Info("writing tables straight into etcd", "tables", n)
	start := time.Now()
	if err := r.s.bulkTables(ctx, "scale", n, r.f.loc100, nil); err != nil {
		return nil, err
	}
	sf.WriteTime = time.Since(start)
	if sf.DBAfter, err = r.dbSize(ctx); err != nil {
		return nil, err
	}
	r.log.Info("tables written", "took", sf.WriteTime, "db bytes", sf.DBAfter.size-sf.DBBefore.size)
	s := r.s
	for _, c := range r.opt.Concurrency {
		p := measure(ctx, fmt.Sprintf("loadTable among %d", n), c, r.opt.Duration, func(ctx context.Context, _, _ int) error {
			return s.discard(ctx, http.MethodGet, "/v1/namespaces/scale/tables/"+randomTable(n), nil, http.StatusOK)
		})
		r.log.Info(p.String())
		sf.Load = append(sf.Load, p)
		// A page deep inside the listing: the token is the name before it.
		p = measure(ctx, fmt.Sprintf("listTables page of 1,000 among %d", n), c, r.opt.Duration, func(ctx context.Context, _, _ int) error {
			tok := encodeToken(randomTable(n))
			return s.discard(ctx, http.MethodGet, "/v1/namespaces/scale/tables?pageSize=1000&pageToken="+tok, nil, http.StatusOK)
		})
		r.log.Info(p.String())
		sf.ListPage = append(sf.ListPage, p)
	}
	sf.RSSBeforeWalk, _ = s.rss()
	start = time.Now()
	token := ""
	for {
		path := "/v1/namespaces/scale/tables?pageSize=1000"
		if token != "" {
			path += "&pageToken=" + url.QueryEscape(token)
		}
		b, err := s.do(ctx, http.MethodGet, path, nil, http.StatusOK)
		if err != nil {
			return nil, err
		}
		sf.Pages++
		var page struct {
			Next string `json:"next-page-token"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, fmt.Errorf("decode page: %w", err)
		}
		if cur, _ := s.rss(); cur > sf.RSSWalk {
			sf.RSSWalk = cur
		}
		if page.Next == "" || sf.Pages > n/1000+2 {
			break
		}
		token = page.Next
	}
	sf.FullWalk = time.Since(start)
	r.log.Info("full listing", "pages", sf.Pages, "took", sf.FullWalk, "rss before", sf.RSSBeforeWalk, "rss peak", sf.RSSWalk)
	return sf, nil
}

// encodeToken is the store's page token for "after name".
func encodeToken(name string) string { return base64.RawURLEncoding.EncodeToString([]byte(name)) }

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }

func firstFields(b []byte, n int) []byte {
	f := strings.FieldsFunc(string(b), unicode.IsSpace)
	return []byte(strings.Join(f[:min(n, len(f))], " "))
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
