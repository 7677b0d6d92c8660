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
