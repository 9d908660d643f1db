// Package config defines kefu's runtime configuration: the Config struct,
// its defaults, loading from a YAML file plus KEFU_* environment overrides,
// and validation that reports every problem at once.
//
// Precedence is defaults < YAML file < environment. Every leaf key has an
// environment variable derived from its dotted YAML path (see EnvName), so
// the same binary can be configured from config.yaml in development and from
// the environment in containers.
//
// Tokens, passwords and DSNs are typed as Secret, which redacts itself in
// fmt, log/slog, JSON and YAML output; Load and Validate never echo a secret
// in an error message. Call Secret.Reveal only where the value is needed.
//
// This package imports no other kefu package, so every other package may
// depend on it without creating an import cycle.
package config
