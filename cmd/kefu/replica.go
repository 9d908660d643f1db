package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/kefu-bot/kefu/models"
)

// replicaName names this process among replicas sharing one PostgreSQL
// database, for the dispatcher's outbox leases; "" on SQLite, where one
// process sends. The random part keeps a restarted process (same host and,
// in a container, same pid) from inheriting its predecessor's leases.
func replicaName(db *models.DB) string {
	if db.Dialect() != models.DriverPostgres {
		return ""
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "kefu"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	if len(name) > 64 {
		name = name[len(name)-64:]
	}
	return name
}
