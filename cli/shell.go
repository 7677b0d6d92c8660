package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
)

// cmdShell reads commands from stdin, one a line, and runs each as `ice`
// would, with the shell's own -c, --log-level and --insecure unless the
// line sets them. A failed command prints its error and the shell goes on.
// It ends at end of input or on "exit" or "quit". Unlike Java ice's shell
// there is no line editing or tab completion.
func cmdShell(ctx context.Context, r *run, args []string) error {
	fs := flag.NewFlagSet("shell", flag.ContinueOnError)
	if _, err := r.parse(fs, args, 0, 0); err != nil {
		return err
	}
	var base []string
	if r.g.configPath != "" {
		base = append(base, "-c", r.g.configPath)
	}
	base = append(base, "--log-level", r.g.logLevel)
	if r.g.insecure {
		base = append(base, "--insecure")
	}
	sc := bufio.NewScanner(r.env.Stdin)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for {
		if r.env.IsTerminal {
			fmt.Fprint(r.env.Stderr, "ice> ")
		}
		if !sc.Scan() {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		words, err := shellWords(sc.Text())
		if err != nil {
			fmt.Fprintf(r.env.Stderr, "ice shell: %v\n", err)
			continue
		}
		switch {
		case len(words) == 0 || strings.HasPrefix(words[0], "#"):
			continue
		case words[0] == "exit" || words[0] == "quit":
			return nil
		case words[0] == "shell":
			fmt.Fprintln(r.env.Stderr, "ice shell: already in the shell")
			continue
		}
		Main(ctx, append(append([]string(nil), base...), words...), r.env)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read commands: %w", err)
	}
	return nil
}

// shellWords splits a line into words as a POSIX shell would for plain
// words, 'single quotes' (literal), "double quotes" (with \" \\ \$ \`
// escapes) and backslash escapes; it does not expand variables or globs.
func shellWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unterminated ' quote")
			}
			cur.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte("\"\\$`", line[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, errors.New(`unterminated " quote`)
			}
			inWord = true
		case c == '\\':
			if i+1 < len(line) {
				i++
				cur.WriteByte(line[i])
			}
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
