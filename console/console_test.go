package console_test

import (
	"fmt"

	"github.com/chromedp/chromedp"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
)

// writeControls are the console's write controls: a read-only principal
// must see none of them.
var writeControls = []string{"#create-namespace", "#set-property", ".remove-prop", "#drop-namespace", "#create-child",
	"#drop-table", ".rollback", "#maintenance-dry-run", "#maintenance-run", ".undrop", ".undrop-name"}

// TestConsoleInBrowser signs in to the console in headless Chromium, walks
// every page checking what it shows against the API, runs every action and
// checks its outcome through the API; then a read-only principal finds no
// write control and a forged write still gets 403. No page may log a
// console error or get an answer >= 400 besides the expected ones.
func TestConsoleInBrowser(t *testing.T) {
	needChromium(t)
	c := startConsoleCatalog(t, "")
	seed(t, c.URL)
	// Enough tables for three pages of the namespace page.
	const many = 230
	iceCLI(t, c.URL, "create-namespace", "many")
	for i := 0; i < many; i++ {
		body := map[string]any{"name": fmt.Sprintf("t%03d", i), "schema": map[string]any{"type": "struct", "schema-id": 0,
			"fields": []any{map[string]any{"id": 1, "name": "id", "type": "long", "required": false}}}}
		if code := api(t, "POST", c.URL+"/v1/namespaces/many/tables", adminToken, body, nil); code != http.StatusOK {
			t.Fatalf("create many.t%03d: %d", i, code)
		}
	}
	b := newBrowser(t)

	t.Run("admin", func(t *testing.T) {
		b.t = t
		ctx := b.ctx
		b.do(ctx, "open the console", navigate(c.URL+"/ui/"), waitFor(`location.hash === '#/signin' && !!document.querySelector('#token')`))
		// Before sign-in, whoami is refused: anonymous access is off.
		b.expect("sign-in page", "401 /management/v1/whoami")
		b.fill(ctx, "#token", adminToken)
		b.do(ctx, "sign in", clickOnly("#signin-token button"), waitFor(`document.getElementById('app').dataset.page === 'catalog'`))
		if who := b.text(ctx, "#who"); who != "token:admin · admin" {
			t.Fatalf("signed in as %q", who)
		}

		// Catalog: the tree's counts and the most recent commit.
		orders, _ := loadTable(t, c.URL, adminToken, "sales", "orders")
		if got := b.text(ctx, `[data-counts="many"]`); got != "230 tables · 0 views" {
			t.Errorf("many counts %q", got)
		}
		if got := b.text(ctx, `[data-counts="sales"]`); got != "2 tables · 1 views" {
			t.Errorf("sales counts %q", got)
		}
		if n := b.count(ctx, fmt.Sprintf(`#recent-commits tr[data-snapshot="%d"]`, orders.Metadata.CurrentSnapshotID)); n != 1 {
			t.Errorf("the current snapshot of sales.orders is not among the recent commits")
		}
		b.screenshot(ctx, "catalog")
		b.expect("catalog page")

		// Namespace.
		b.visit(ctx, "#/ns/sales")
		for _, sel := range []string{`#tables tr[data-table="orders"]`, `#tables tr[data-table="events"]`, `#views tr[data-view="top_orders"]`} {
			if b.count(ctx, sel) != 1 {
				t.Errorf("namespace page lacks %s", sel)
			}
		}
		b.screenshot(ctx, "namespace")
		b.expect("namespace page")

		// Paging through the API's pageToken: 100, 100, 30.
		b.visit(ctx, "#/ns/many")
		if got := b.text(ctx, "#ns-counts"); got != "230 tables · 0 views" {
			t.Errorf("many counts %q", got)
		}
		var seen []string
		for page := 0; page < 3; page++ {
			if page > 0 {
				b.do(ctx, "next page", clickOnly(`button[data-next="tables"]`),
					waitFor(fmt.Sprintf(`document.querySelector('#tables tr[data-table]').dataset.table !== %q`, seen[len(seen)-1-((len(seen)-1)%100)])))
			}
			rows := eval[[]string](b, ctx, `[...document.querySelectorAll('#tables tr[data-table]')].map(r => r.dataset.table)`)
			seen = append(seen, rows...)
		}
		if len(seen) != many || seen[0] != "t000" || seen[many-1] != fmt.Sprintf("t%03d", many-1) {
			t.Errorf("paged %d tables, from %v to %v", len(seen), seen[:1], seen[len(seen)-1:])
		}
		if b.count(ctx, `button[data-next="tables"]:disabled`) != 1 {
			t.Error("next page is enabled on the last page")
		}
		b.expect("namespace paging")

		// Table: the numbers the API has.
		b.visit(ctx, "#/table/sales/t/orders")
		b.waitFiles(ctx)
		cur := orders.Metadata.CurrentSnapshotID
		var sum map[string]string
		for _, s := range orders.Metadata.Snapshots {
			if s.ID == cur {
				sum = s.Summary
			}
		}
		checks := map[string]string{
			"#current-snapshot": strconv.FormatInt(cur, 10),
			"#total-rows":       commas(sum["total-records"]),
			"#stat-rows":        commas(sum["total-records"]),
			"#total-files":      commas(sum["total-data-files"]),
			"#stat-files":       commas(sum["total-data-files"]),
			"#snapshot-count":   strconv.Itoa(len(orders.Metadata.Snapshots)),
		}
		for sel, want := range checks {
			if got := b.text(ctx, sel); got != want {
				t.Errorf("table page %s = %q, the API says %q", sel, got, want)
			}
		}
		for _, s := range orders.Metadata.Snapshots {
			if b.count(ctx, fmt.Sprintf(`#snapshots tr[data-snapshot-id="%d"]`, s.ID)) != 1 {
				t.Errorf("snapshot %d is not listed", s.ID)
			}
		}
		for _, f := range orders.Metadata.Schemas[len(orders.Metadata.Schemas)-1].Fields {
			if got := b.text(ctx, fmt.Sprintf(`#schema-fields tr[data-field-id="%d"] td:nth-child(2)`, f.ID)); got != f.Name {
				t.Errorf("schema field %d shows %q, want %q", f.ID, got, f.Name)
			}
		}
		if n := b.count(ctx, `svg[data-chart="timeline-rows"] rect.add`); n != len(orders.Metadata.Snapshots) {
			t.Errorf("the timeline draws %d added-rows bars for %d snapshots", n, len(orders.Metadata.Snapshots))
		}
		if n := b.count(ctx, `svg[data-chart="partitions"] g[data-partition]`); n != 3 {
			t.Errorf("%d partition bars, want 3", n)
		}
		if adv := b.text(ctx, "#advice"); !strings.Contains(adv, "files under 16 MiB: compaction would merge them into 1") {
			t.Errorf("advice %q", adv)
		}
		if n := b.count(ctx, "#data-files tbody tr"); n != 9 {
			t.Errorf("data files list shows %d rows, want 9", n)
		}
		b.screenshot(ctx, "table")
		if dst := os.Getenv("ICE_CONSOLE_README_SHOT"); dst != "" {
			// The README's picture: the top of the page, one window high.
			png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		b.expect("table page")

		// Schema diff of sales.events: payload was added in schema 1.
		b.visit(ctx, "#/table/sales/t/events")
		b.waitFiles(ctx)
		if got := b.text(ctx, `#schema-diff tr[data-diff="added"]`); !strings.Contains(got, "payload") {
			t.Errorf("schema diff %q does not show payload added", got)
		}
		if got := b.text(ctx, `#schema-fields tr[data-field-id="1"] td:nth-child(5)`); got != "unique id" {
			t.Errorf("doc of event_id %q", got)
		}
		b.expect("events table page")

		// View.
		b.visit(ctx, "#/view/sales/v/top_orders")
		if got := b.text(ctx, `#view-sql [data-dialect="trino"] pre`); !strings.Contains(got, "FETCH FIRST 10 ROWS ONLY") {
			t.Errorf("trino SQL %q", got)
		}
		if got := b.text(ctx, `#view-sql [data-dialect="spark"] pre`); !strings.Contains(got, "LIMIT 10") {
			t.Errorf("spark SQL %q", got)
		}
		b.screenshot(ctx, "view")
		b.expect("view page")

		// Server: no secret on the page.
		b.visit(ctx, "#/server")
		page := b.text(ctx, "#app")
		for _, secret := range []string{adminToken, readerToken, writerToken} {
			if strings.Contains(page, secret) {
				t.Errorf("server page shows the token %s", secret)
			}
		}
		if b.count(ctx, "#etcd-endpoints tbody tr") != 1 || !strings.Contains(b.text(ctx, "#etcd-endpoints"), "yes") {
			t.Errorf("etcd endpoints: %s", b.text(ctx, "#etcd-endpoints"))
		}
		b.screenshot(ctx, "server")
		b.expect("server page")

		// Actions, each checked through the API.
		b.visit(ctx, "#/")
		b.fill(ctx, "#new-namespace", "scratch")
		b.click(ctx, "#create-namespace button")
		if code := api(t, "GET", c.URL+"/v1/namespaces/scratch", adminToken, nil, nil); code != http.StatusOK {
			t.Fatalf("create namespace: the API answers %d", code)
		}
		b.visit(ctx, "#/ns/scratch")
		b.fill(ctx, "#prop-key", "owner")
		b.fill(ctx, "#prop-value", "data-team")
		b.click(ctx, "#set-property button")
		var nsInfo struct{ Properties map[string]string }
		api(t, "GET", c.URL+"/v1/namespaces/scratch", adminToken, nil, &nsInfo)
		if nsInfo.Properties["owner"] != "data-team" {
			t.Fatalf("set property: %v", nsInfo.Properties)
		}
		b.click(ctx, `#ns-properties tr[data-prop="owner"] .remove-prop`)
		nsInfo.Properties = nil
		api(t, "GET", c.URL+"/v1/namespaces/scratch", adminToken, nil, &nsInfo)
		if _, ok := nsInfo.Properties["owner"]; ok {
			t.Fatalf("remove property: %v", nsInfo.Properties)
		}
		b.do(ctx, "open the drop confirmation", clickOnly("#drop-namespace"))
		b.fill(ctx, "#drop-namespace-confirm", "scratch")
		b.click(ctx, "#drop-namespace-go")
		if code := api(t, "GET", c.URL+"/v1/namespaces/scratch", adminToken, nil, nil); code != http.StatusNotFound {
			t.Fatalf("drop namespace: the API answers %d", code)
		}

		// Table properties, roll back, maintenance, drop.
		b.visit(ctx, "#/table/sales/t/orders")
		b.fill(ctx, "#prop-key", "comment")
		b.fill(ctx, "#prop-value", "orders of the shop")
		b.click(ctx, "#set-property button")
		after, _ := loadTable(t, c.URL, adminToken, "sales", "orders")
		if after.Metadata.Properties["comment"] != "orders of the shop" {
			t.Fatalf("set table property: %v", after.Metadata.Properties)
		}
		first := orders.Metadata.Snapshots[0].ID
		b.do(ctx, "pick the first snapshot", setSelect(`.rollback-to[data-ref="main"]`, strconv.FormatInt(first, 10)))
		b.click(ctx, `.rollback[data-ref="main"]`)
		after, _ = loadTable(t, c.URL, adminToken, "sales", "orders")
		if after.Metadata.CurrentSnapshotID != first {
			t.Fatalf("roll back: main is at %d, want %d", after.Metadata.CurrentSnapshotID, first)
		}
		if b.text(ctx, "#current-snapshot") != strconv.FormatInt(first, 10) {
			t.Errorf("the page shows %s after the roll back", b.text(ctx, "#current-snapshot"))
		}
		if n := b.count(ctx, "#maintenance-run:disabled"); n != 1 {
			t.Errorf("maintenance can run before a dry run")
		}
		b.waitFiles(ctx)
		b.click(ctx, "#maintenance-dry-run")
		b.waitFiles(ctx)
		b.click(ctx, "#maintenance-run")
		b.waitFiles(ctx)
		var runs struct {
			Runs []struct{ DryRun bool }
		}
		api(t, "GET", c.URL+"/management/v1/namespaces/sales/tables/orders/maintenance", adminToken, nil, &runs)
		if len(runs.Runs) != 2 || runs.Runs[0].DryRun || !runs.Runs[1].DryRun {
			t.Fatalf("maintenance runs through the API: %+v", runs.Runs)
		}
		if n := b.count(ctx, "#maintenance-runs tbody tr"); n != 2 {
			t.Errorf("the page lists %d maintenance runs", n)
		}
		b.visit(ctx, "#/table/sales/t/events")
		b.waitFiles(ctx)
		b.do(ctx, "open the drop confirmation", clickOnly("#drop-table"))
		if b.count(ctx, "#drop-table-go:disabled") != 1 {
			t.Error("drop is possible before the name is typed")
		}
		b.fill(ctx, "#drop-table-confirm", "sales.events")
		b.click(ctx, "#drop-table-go")
		if _, code := loadTable(t, c.URL, adminToken, "sales", "events"); code != http.StatusNotFound {
			t.Fatalf("drop table: the API answers %d", code)
		}
		b.expect("actions")

		// Soft drop on sales: a table dropped through the API is listed
		// as dropped, and the console undrops it, under its name and under
		// a new one when the name is taken.
		softDrop := map[string]any{"removals": []string{}, "updates": map[string]string{"ice.soft-drop.enabled": "true"}}
		if code := api(t, "POST", c.URL+"/v1/namespaces/sales/properties", adminToken, softDrop, nil); code != http.StatusOK {
			t.Fatalf("enable soft drop on sales: %d", code)
		}
		var before struct {
			MetadataLocation string `json:"metadata-location"`
		}
		api(t, "GET", c.URL+"/v1/namespaces/sales/tables/orders", adminToken, nil, &before)
		if code := api(t, "DELETE", c.URL+"/v1/namespaces/sales/tables/orders", adminToken, nil, nil); code != http.StatusNoContent {
			t.Fatalf("drop sales.orders: %d", code)
		}
		var deleted struct {
			Deleted []struct {
				ID               string `json:"id"`
				Name             string `json:"name"`
				MetadataLocation string `json:"metadata-location"`
			} `json:"deleted"`
		}
		api(t, "GET", c.URL+"/management/v1/namespaces/sales/deleted", adminToken, nil, &deleted)
		if len(deleted.Deleted) != 1 || deleted.Deleted[0].Name != "orders" || deleted.Deleted[0].MetadataLocation != before.MetadataLocation {
			t.Fatalf("deleted entries after the soft drop: %+v (metadata %s)", deleted.Deleted, before.MetadataLocation)
		}
		b.visit(ctx, "#/ns/sales")
		row := fmt.Sprintf(`#deleted tr[data-deleted=%q]`, deleted.Deleted[0].ID)
		if got := b.text(ctx, row+" .metadata-location"); got != before.MetadataLocation {
			t.Fatalf("the dropped row shows metadata %q, the API %q", got, before.MetadataLocation)
		}
		if b.count(ctx, `#tables tr[data-table="orders"]`) != 0 {
			t.Error("the dropped sales.orders is still listed among the tables")
		}
		b.screenshot(ctx, "namespace-dropped")
		b.click(ctx, row+" .undrop")
		var restored struct {
			MetadataLocation string `json:"metadata-location"`
		}
		if code := api(t, "GET", c.URL+"/v1/namespaces/sales/tables/orders", adminToken, nil, &restored); code != http.StatusOK || restored.MetadataLocation != before.MetadataLocation {
			t.Fatalf("undrop from the console: the API answers %d with metadata %q, want %q", code, restored.MetadataLocation, before.MetadataLocation)
		}
		if b.count(ctx, `#tables tr[data-table="orders"]`) != 1 || b.count(ctx, "#deleted tr[data-deleted]") != 0 {
			t.Error("after the undrop the page does not list sales.orders as a table only")
		}

		// Under a new name: scratch is dropped and its name taken again.
		scratch := map[string]any{"name": "scratch", "schema": map[string]any{"type": "struct", "schema-id": 0,
			"fields": []any{map[string]any{"id": 1, "name": "id", "type": "long", "required": false}}}}
		var created struct {
			MetadataLocation string `json:"metadata-location"`
		}
		if code := api(t, "POST", c.URL+"/v1/namespaces/sales/tables", adminToken, scratch, &created); code != http.StatusOK {
			t.Fatalf("create sales.scratch: %d", code)
		}
		if code := api(t, "DELETE", c.URL+"/v1/namespaces/sales/tables/scratch", adminToken, nil, nil); code != http.StatusNoContent {
			t.Fatalf("drop sales.scratch: %d", code)
		}
		if code := api(t, "POST", c.URL+"/v1/namespaces/sales/tables", adminToken, scratch, nil); code != http.StatusOK {
			t.Fatalf("create sales.scratch again: %d", code)
		}
		b.visit(ctx, "#/ns/sales")
		// A refused action leaves the page as it is and says why.
		b.do(ctx, "undrop onto a taken name", clickOnly(`#deleted tr[data-deleted-name="scratch"] .undrop`),
			waitFor(`document.getElementById('banner').dataset.status === '409'`))
		b.expect("undrop onto a taken name", "409 /management/v1/namespaces/sales/deleted/")
		b.fill(ctx, `#deleted tr[data-deleted-name="scratch"] .undrop-name`, "scratch_old")
		b.click(ctx, `#deleted tr[data-deleted-name="scratch"] .undrop`)
		var old struct {
			MetadataLocation string `json:"metadata-location"`
		}
		if code := api(t, "GET", c.URL+"/v1/namespaces/sales/tables/scratch_old", adminToken, nil, &old); code != http.StatusOK || old.MetadataLocation != created.MetadataLocation {
			t.Fatalf("undrop as scratch_old: %d, metadata %q, want %q", code, old.MetadataLocation, created.MetadataLocation)
		}
		// The new scratch stays dropped, for the read-only principal to see.
		if code := api(t, "DELETE", c.URL+"/v1/namespaces/sales/tables/scratch", adminToken, nil, nil); code != http.StatusNoContent {
			t.Fatalf("drop the new sales.scratch: %d", code)
		}
		b.expect("undrop")
	})

	t.Run("oauth", func(t *testing.T) {
		b.t = t
		ctx := b.tab()
		b.do(ctx, "open the console", navigate(c.URL+"/ui/#/signin"), waitFor(`!!document.querySelector('#client-id')`))
		b.fill(ctx, "#client-id", oauthClient)
		b.fill(ctx, "#client-secret", oauthSecret)
		b.do(ctx, "sign in", clickOnly("#signin-oauth button"), waitFor(`document.getElementById('app').dataset.page === 'catalog'`))
		if who := b.text(ctx, "#who"); who != "oauth:"+oauthClient+" · admin" {
			t.Errorf("signed in as %q", who)
		}
		b.expect("oauth sign-in", "401 /management/v1/whoami")

		// A token that stops working (expired, revoked) leads back to the
		// sign-in page.
		eval[bool](b, ctx, `sessionStorage.setItem('ice-console-token', 'revoked') || true`)
		b.visit(ctx, "#/ns/sales")
		b.do(ctx, "back to sign-in", waitFor(`location.hash === '#/signin' && !!document.querySelector('#token')`))
		b.expect("revoked token", "401 /v1/namespaces/sales", "401 /management/v1/")
	})

	t.Run("read-only", func(t *testing.T) {
		b.t = t
		ctx := b.tab()
		b.do(ctx, "open the console", navigate(c.URL+"/ui/#/signin"), waitFor(`!!document.querySelector('#token')`))
		b.fill(ctx, "#token", readerToken)
		b.do(ctx, "sign in", clickOnly("#signin-token button"), waitFor(`document.getElementById('app').dataset.page === 'catalog'`))
		// The reader may list top-level names but read only sales.
		b.expect("reader catalog", "401 /management/v1/whoami", "403 /management/v1/namespaces/secret/summary", "403 /management/v1/namespaces/many/summary")
		for _, hash := range []string{"#/", "#/ns/sales", "#/table/sales/t/orders", "#/view/sales/v/top_orders"} {
			b.visit(ctx, hash)
			if strings.HasPrefix(hash, "#/table/") {
				b.waitFiles(ctx)
			}
			for _, sel := range writeControls {
				if n := b.count(ctx, sel); n != 0 {
					t.Errorf("%s: the read-only principal sees %d %s", hash, n, sel)
				}
			}
			b.expect("reader "+hash, "403 /management/v1/namespaces/secret/summary", "403 /management/v1/namespaces/many/summary")
		}
		b.screenshot(ctx, "table-read-only")
		// It sees what was dropped in sales, without an undrop control.
		b.visit(ctx, "#/ns/sales")
		if b.count(ctx, `#deleted tr[data-deleted-name="scratch"]`) != 1 {
			t.Error("the read-only principal does not see the dropped sales.scratch")
		}
		b.expect("reader dropped list")
		// A page it may not read shows the 403 as such.
		b.visit(ctx, "#/ns/secret")
		if got := b.text(ctx, "#banner"); !strings.HasPrefix(got, "Forbidden (403)") {
			t.Errorf("banner %q", got)
		}
		b.visit(ctx, "#/server")
		if got := b.text(ctx, "#banner"); !strings.HasPrefix(got, "Forbidden (403)") {
			t.Errorf("banner on the server page %q", got)
		}
		b.expect("reader forbidden pages", "403 /v1/namespaces/secret", "403 /management/v1/whoami?namespace=secret",
			"403 /management/v1/namespaces/secret/summary", "403 /management/v1/server")
		// Forged writes, sent from the console's own page with its token.
		for _, forged := range []string{
			`fetch('/v1/namespaces', {method: 'POST', headers: {Authorization: 'Bearer ` + readerToken + `', 'Content-Type': 'application/json'}, body: JSON.stringify({namespace: ['forged']})}).then(r => r.status)`,
			`fetch('/v1/namespaces/sales/tables/orders', {method: 'DELETE', headers: {Authorization: 'Bearer ` + readerToken + `'}}).then(r => r.status)`,
			`fetch('/management/v1/namespaces/sales/tables/orders/maintenance?dry-run=false', {method: 'POST', headers: {Authorization: 'Bearer ` + readerToken + `'}}).then(r => r.status)`,
			`fetch('/management/v1/namespaces/sales/deleted', {headers: {Authorization: 'Bearer ` + readerToken + `'}}).then(r => r.json()).then(d => fetch('/management/v1/namespaces/sales/deleted/' + d.deleted[0].id + '/undrop', {method: 'POST', headers: {Authorization: 'Bearer ` + readerToken + `'}})).then(r => r.status)`,
		} {
			if code := eval[int](b, ctx, forged); code != http.StatusForbidden {
				t.Errorf("forged write answered %d: %s", code, forged)
			}
		}
		b.take()
		if _, code := loadTable(t, c.URL, adminToken, "sales", "orders"); code != http.StatusOK {
			t.Errorf("sales.orders after the forged drop: %d", code)
		}
	})
}

// commas formats a decimal string as the console does: 1,240.
func commas(s string) string {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return s
	}
	out := strconv.FormatInt(n, 10)
	for i := len(out) - 3; i > 0; i -= 3 {
		out = out[:i] + "," + out[i:]
	}
	return out
}
