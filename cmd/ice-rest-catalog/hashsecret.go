package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// hashSecret is `ice-rest-catalog hash-secret [--bcrypt]`: it reads an
// OAuth client secret from stdin (first line) and prints the value for
// oauth.clients[].secretHash, so the secret itself never enters the config.
func hashSecret(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("hash-secret", flag.ContinueOnError)
	useBcrypt := fs.Bool("bcrypt", false, "print a bcrypt hash (cost 12) instead of sha256:<hex>")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{fmt.Errorf("hash-secret: %w", err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("hash-secret: unexpected argument %q (the secret comes on stdin)", fs.Arg(0))}
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read secret from stdin: %w", err)
	}
	secret := strings.TrimRight(line, "\r\n")
	if secret == "" {
		return errors.New("no secret on stdin: echo -n \"$SECRET\" | ice-rest-catalog hash-secret")
	}
	if *useBcrypt {
		h, err := bcrypt.GenerateFromPassword([]byte(secret), 12)
		if err != nil {
			return fmt.Errorf("bcrypt: %w", err)
		}
		_, err = fmt.Fprintln(out, string(h))
		return err
	}
	d := sha256.Sum256([]byte(secret))
	_, err = fmt.Fprintln(out, "sha256:"+hex.EncodeToString(d[:]))
	return err
}
