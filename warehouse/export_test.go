package warehouse

import "context"

// WriteFile writes data at location as metadata writes do, for tests.
func (w *Warehouse) WriteFile(ctx context.Context, location string, data []byte) error {
	objs, key, err := w.resolve(ctx, location)
	if err != nil {
		return err
	}
	return objs.write(ctx, key, data)
}

// CachedParsed reports whether the cache holds location's file, and
// whether parsed.
func (w *Warehouse) CachedParsed(location string) (held, parsed bool) {
	md, ok := w.cache.get(location)
	return ok, ok && md.Parsed != nil
}
