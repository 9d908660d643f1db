// Package campaign reads care campaign definitions: one YAML file per
// campaign with its segment filter, message (English and Chinese
// templates with per-customer fields), optional reward and schedule, and
// computes when a schedule's occurrences fall.
//
// It imports no kefu package (only yaml.v3).
package campaign
