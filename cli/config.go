package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"

	"gopkg.in/yaml.v3"
)

// DefaultURI is where the catalog is expected when neither the config nor
// ICE_URI names one; it matches the server's default listen address.
const DefaultURI = "http://localhost:5000"

// Config is the CLI's .ice.yaml. The keys are those of Altinity's Java
// `ice` tool, so one file serves both; keys this implementation does not
// use (warehouse, localFileIO*, httpCacheDir) are accepted so such files
// still load.
type Config struct {
	URI                    string            `yaml:"uri"`
	BearerToken            string            `yaml:"bearerToken"`
	CACrt                  string            `yaml:"caCrt"`
	SSLVerify              *bool             `yaml:"sslVerify"`
	HTTPCacheDir           string            `yaml:"httpCacheDir"`
	Warehouse              string            `yaml:"warehouse"`
	LocalFileIOBaseDir     string            `yaml:"localFileIOBaseDir"`
	LocalFileIOAllowAccess []string          `yaml:"localFileIOAllowAccess"`
	S3                     S3Config          `yaml:"s3"`
	IcebergProperties      map[string]string `yaml:"icebergProperties"`

	// Source says where the config came from, for `check` and logs.
	Source string `yaml:"-"`
}

// S3Config is how the CLI reaches S3 for input files and for table data
// when the catalog does not vend credentials.
type S3Config struct {
	Endpoint        string `yaml:"endpoint"`
	PathStyleAccess bool   `yaml:"pathStyleAccess"`
	AccessKeyID     string `yaml:"accessKeyID"`
	SecretAccessKey string `yaml:"secretAccessKey"`
	Region          string `yaml:"region"`
}

// LoadConfig finds the config the way the Java tool does: the -c flag, the
// file named by ICE_CONFIG, ./.ice.yaml, YAML text in ICE_CONFIG_YAML, or
// none. A file named explicitly must exist. getenv is os.Getenv outside
// tests.
func LoadConfig(flagPath string, getenv func(string) string) (*Config, error) {
	var (
		text   []byte
		source string
	)
	switch {
	case flagPath != "":
		b, err := os.ReadFile(flagPath)
		if err != nil {
			return nil, fmt.Errorf("read config -c %s: %w", flagPath, err)
		}
		text, source = b, flagPath
	case getenv("ICE_CONFIG") != "":
		p := getenv("ICE_CONFIG")
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read config $ICE_CONFIG=%s: %w", p, err)
		}
		text, source = b, p
	default:
		b, err := os.ReadFile(".ice.yaml")
		switch {
		case err == nil:
			text, source = b, ".ice.yaml"
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("read config ./.ice.yaml: %w", err)
		case getenv("ICE_CONFIG_YAML") != "":
			text, source = []byte(getenv("ICE_CONFIG_YAML")), "$ICE_CONFIG_YAML"
		}
	}
	cfg, err := ParseConfig(text, getenv)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", source, err)
	}
	cfg.Source = source
	return cfg, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// ParseConfig parses YAML text strictly (an unknown key is an error that
// names it), replaces ${VAR} with the environment variable, and applies the
// defaults: uri from ICE_URI, else DefaultURI.
func ParseConfig(text []byte, getenv func(string) string) (*Config, error) {
	cfg := &Config{}
	text = envRef.ReplaceAllFunc(text, func(m []byte) []byte {
		return []byte(getenv(string(envRef.FindSubmatch(m)[1])))
	})
	if len(bytes.TrimSpace(text)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(text))
		dec.KnownFields(true)
		if err := dec.Decode(cfg); err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
	}
	if cfg.URI == "" {
		cfg.URI = getenv("ICE_URI")
	}
	if cfg.URI == "" {
		cfg.URI = DefaultURI
	}
	return cfg, nil
}
