// Package loyalty holds the earning and tier rules of the points
// programme as pure functions: what an order earns, which bonuses apply,
// which tier a year's spend or points reaches, when points lapse. It
// stores nothing; handlers apply its answers to the ledger.
//
// It imports the standard library only.
package loyalty
