// Package orderfile reads shop orders from CSV or JSON — an import file,
// an admin API body, a webhook — into models.OrderInput rows, each with
// the line it came from, and reports every bad row with its line and the
// reason instead of stopping at the first.
//
// It stands alone: it imports only models (for the order types and
// statuses).
package orderfile
