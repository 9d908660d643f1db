// Package survey holds what surveys are, apart from chat and storage:
// questionnaire definitions read from YAML (one file per survey) and
// checked with file and line in every error, the branching that picks
// the next question, the CSAT and NPS arithmetic, quiet hours, and the
// SVG chart of the weekly trend. It stores and sends nothing.
//
// It imports the standard library and gopkg.in/yaml.v3 only.
package survey
