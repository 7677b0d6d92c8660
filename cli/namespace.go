package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/apache/iceberg-go/catalog"
)

func cmdCreateNamespace(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("create-namespace", flag.ContinueOnError)
	ifNotExists := fs.Bool("p", false, "no error if the namespace exists")
	pos, err := r.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	cat, ns, err := r.openNamespace(ctx, pos[0])
	if err != nil {
		return err
	}
	err = cat.CreateNamespace(ctx, ns, nil)
	if errors.Is(err, catalog.ErrNamespaceAlreadyExists) && *ifNotExists {
		r.log.Info("namespace already exists", "namespace", pos[0])
		return nil
	}
	if errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
		return fmt.Errorf("create namespace %s: %w (add -p for no error when it exists)", pos[0], err)
	}
	if err != nil {
		return fmt.Errorf("create namespace %s: %w", pos[0], err)
	}
	r.log.Info("created namespace", "namespace", pos[0])
	return nil
}

func cmdDeleteNamespace(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("delete-namespace", flag.ContinueOnError)
	ignoreMissing := fs.Bool("p", false, "no error if the namespace does not exist")
	pos, err := r.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	cat, ns, err := r.openNamespace(ctx, pos[0])
	if err != nil {
		return err
	}
	err = cat.DropNamespace(ctx, ns)
	if errors.Is(err, catalog.ErrNoSuchNamespace) && *ignoreMissing {
		r.log.Info("namespace does not exist", "namespace", pos[0])
		return nil
	}
	if errors.Is(err, catalog.ErrNoSuchNamespace) {
		return fmt.Errorf("delete namespace %s: %w (add -p for no error when it does not exist)", pos[0], err)
	}
	if err != nil {
		return fmt.Errorf("delete namespace %s: %w", pos[0], err)
	}
	r.log.Info("deleted namespace", "namespace", pos[0])
	return nil
}
