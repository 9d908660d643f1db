package models

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkResolveIdentity looks up known customers inside a write
// transaction, as every turn does.
func BenchmarkResolveIdentity(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, Options{DSN: filepath.Join(b.TempDir(), "kefu.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Prefill(ctx, "bench", 2000, 0); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	const perTx = 64
	for i := 0; i < b.N; i += perTx {
		err := db.Write(ctx, func(s *Store) error {
			for j := i; j < min(i+perTx, b.N); j++ {
				if _, _, _, err := s.ResolveIdentity(ctx, Contact{Channel: "bench", ExternalID: fmt.Sprintf("prefill-%d", j%2000)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
