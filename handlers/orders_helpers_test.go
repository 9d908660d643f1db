package handlers_test

import (
	"context"

	"github.com/kefu-bot/kefu/models"
)

// setOrderStatus re-imports a known order with a new status, as the shop
// platform would.
func setOrderStatus(ctx context.Context, db *models.DB, ref, status string) error {
	return db.Write(ctx, func(s *models.Store) error {
		o, err := s.OrderByRef(ctx, ref)
		if err != nil {
			return err
		}
		in := orderInput(o)
		in.Status = status
		_, err = s.UpsertOrders(ctx, []models.OrderInput{in}, "import")
		return err
	})
}

func orderInput(o *models.Order) models.OrderInput {
	return models.OrderInput{Ref: o.Ref, Name: o.Name, Phone: o.Phone, Email: o.Email, Status: o.Status, Total: o.Total,
		Currency: o.Currency, PlacedAt: o.PlacedAt, Carrier: o.Carrier, Tracking: o.Tracking, Items: o.Items}
}
