package service

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"

	ice "github.com/ice-rest-catalog/ice"
)

// CreateNamespace creates ns with props; its parent must exist.
func (s *Service) CreateNamespace(ctx context.Context, ns ice.Namespace, props map[string]string) error {
	if err := ice.ValidateNewNamespace(ns); err != nil {
		return err
	}
	if err := s.checkPropertiesSize(props); err != nil {
		return err
	}
	if err := s.checkNamespaceLocation(ns, props); err != nil {
		return err
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
	if err := s.checkNamespaceLocation(ns, updates); err != nil {
		return PropertiesUpdate{}, err
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
		if err := s.checkPropertiesSize(props); err != nil {
			return PropertiesUpdate{}, err
		}
		err = s.store.ReplaceNamespaceProperties(ctx, ns, props, entry.Revision)
		if ice.ErrorCode(err) != ice.ECONFLICT || attempt >= s.retries {
			return res, err
		}
	}
}

// checkPropertiesSize refuses properties whose stored form (a JSON object)
// is over the configured bound, before etcd is asked: etcd would refuse
// the request too, but only after sending it.
func (s *Service) checkPropertiesSize(props map[string]string) error {
	if s.maxPropsBytes <= 0 {
		return nil
	}
	// Escaping only lengthens the JSON, so this sum is a lower bound: a
	// count over it is refused without encoding (and sorting) it all.
	least := 2
	for k, v := range props {
		least += len(k) + len(v) + 6
	}
	if least > s.maxPropsBytes {
		return ice.Errorf(ice.ETOOLARGE, "the namespace's properties would take at least %d bytes, more than the limit of %d (limits.maxNamespacePropertiesBytes)", least, s.maxPropsBytes)
	}
	b, err := json.Marshal(props)
	if err != nil {
		return fmt.Errorf("encode namespace properties: %w", err)
	}
	if len(b) > s.maxPropsBytes {
		return ice.Errorf(ice.ETOOLARGE, "the namespace's properties would take %d bytes, more than the limit of %d (limits.maxNamespacePropertiesBytes)", len(b), s.maxPropsBytes)
	}
	return nil
}

// sortedKeys is used where a stable order makes responses reproducible.
func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// checkNamespaceLocation applies the location rule to a namespace's
// location property, where new tables go by default.
func (s *Service) checkNamespaceLocation(ns ice.Namespace, props map[string]string) error {
	loc, ok := props["location"]
	if !ok {
		return nil
	}
	if s.ruleErr != nil {
		return s.ruleErr
	}
	if err := s.rule.CheckNamespaceLocation(ns, loc); err != nil {
		return refused("namespace property location", err)
	}
	return nil
}
