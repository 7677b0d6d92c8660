package service

import (
	"context"
	"maps"
	"slices"
	"sort"

	ice "github.com/ice-rest-catalog/ice"
)

// CreateNamespace creates ns with props; its parent must exist.
func (s *Service) CreateNamespace(ctx context.Context, ns ice.Namespace, props map[string]string) error {
	if err := ice.ValidateNamespace(ns); err != nil {
		return err
	}
	if loc, ok := props["location"]; ok && !hasScheme(loc) {
		// ClickHouse (26.5, 26.7) sends its new table's bare path as the
		// namespace's location when it creates a table; kept, it would
		// place every later table of the namespace outside the warehouse.
		props = maps.Clone(props)
		delete(props, "location")
		s.log.InfoContext(ctx, "createNamespace: a location without a scheme is ignored", "namespace", ns.String(), "sent", loc)
	}
	return s.store.CreateNamespace(ctx, ns, props)
}

// LoadNamespace returns ns's properties.
func (s *Service) LoadNamespace(ctx context.Context, ns ice.Namespace) (map[string]string, error) {
	if err := ice.ValidateNamespace(ns); err != nil {
		return nil, err
	}
	e, err := s.store.LoadNamespace(ctx, ns)
	return e.Properties, err
}

// NamespaceExists reports whether ns exists.
func (s *Service) NamespaceExists(ctx context.Context, ns ice.Namespace) (bool, error) {
	if err := ice.ValidateNamespace(ns); err != nil {
		return false, err
	}
	return s.store.NamespaceExists(ctx, ns)
}

// ListNamespaces lists parent's direct children.
func (s *Service) ListNamespaces(ctx context.Context, parent ice.Namespace, page ice.Page) ([]ice.Namespace, string, error) {
	if len(parent) > 0 {
		if err := ice.ValidateNamespace(parent); err != nil {
			return nil, "", err
		}
	}
	return s.store.ListNamespaces(ctx, parent, page)
}

// DropNamespace drops ns if it holds no tables or namespaces.
func (s *Service) DropNamespace(ctx context.Context, ns ice.Namespace) error {
	if err := ice.ValidateNamespace(ns); err != nil {
		return err
	}
	return s.store.DropNamespace(ctx, ns)
}

// PropertiesUpdate is the outcome of UpdateNamespaceProperties.
type PropertiesUpdate struct {
	Updated, Removed, Missing []string
}

// UpdateNamespaceProperties removes and sets properties in one write that
// fails if another writer changed the namespace in between; it then retries.
func (s *Service) UpdateNamespaceProperties(ctx context.Context, ns ice.Namespace, removals []string, updates map[string]string) (PropertiesUpdate, error) {
	if err := ice.ValidateNamespace(ns); err != nil {
		return PropertiesUpdate{}, err
	}
	for _, k := range removals {
		if _, ok := updates[k]; ok {
			return PropertiesUpdate{}, ice.Errorf(ice.EUNPROCESSABLE, "property %q is both set and removed", k)
		}
	}
	for attempt := 0; ; attempt++ {
		entry, err := s.store.LoadNamespace(ctx, ns)
		if err != nil {
			return PropertiesUpdate{}, err
		}
		res := PropertiesUpdate{Updated: []string{}, Removed: []string{}, Missing: []string{}}
		props := maps.Clone(entry.Properties)
		for _, k := range removals {
			if _, ok := props[k]; ok {
				delete(props, k)
				res.Removed = append(res.Removed, k)
			} else {
				res.Missing = append(res.Missing, k)
			}
		}
		for k, v := range updates {
			props[k] = v
			res.Updated = append(res.Updated, k)
		}
		sort.Strings(res.Updated)
		if maps.Equal(props, entry.Properties) {
			return res, nil
		}
		err = s.store.ReplaceNamespaceProperties(ctx, ns, props, entry.Revision)
		if ice.ErrorCode(err) != ice.ECONFLICT || attempt >= s.retries {
			return res, err
		}
	}
}

// sortedKeys is used where a stable order makes responses reproducible.
func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
