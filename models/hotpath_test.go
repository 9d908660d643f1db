package models

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm/schema"
)

// TestHotPathColumns keeps the hand-written scans of the turn's hot path
// complete: a column added to the model must be added to the query too, or
// it would silently read as zero.
func TestHotPathColumns(t *testing.T) {
	for _, c := range []struct {
		model   any
		columns string
	}{
		{&Identity{}, identityColumns},
		{&Customer{}, customerColumns},
		{&Conversation{}, conversationColumns},
		{&VerifyAttempt{}, verifyColumns},
		{&FeedbackNote{}, "id, " + feedbackNoteColumns},
	} {
		s, err := schema.Parse(c.model, &sync.Map{}, schema.NamingStrategy{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, col := range strings.Split(c.columns, ",") {
			col = strings.TrimSpace(col)
			if _, after, ok := strings.Cut(col, "."); ok {
				col = after
			}
			got = append(got, col)
		}
		if want := s.DBNames; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the hot path reads %q; the table has %q", s.Table, got, want)
		}
	}
}

// TestHotPathScansMatchGORM fills every field with a value that is not
// zero and checks the hand-written scans read back what GORM does.
func TestHotPathScansMatchGORM(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	cust := &Customer{}
	fill(cust)
	id := &Identity{}
	fill(id)
	conv := &Conversation{}
	fill(conv)
	err := db.Write(ctx, func(s *Store) error {
		if err := s.q(ctx).Create(cust).Error; err != nil {
			return err
		}
		id.CustomerID = cust.ID
		if err := s.q(ctx).Omit("Customer").Create(id).Error; err != nil {
			return err
		}
		conv.CustomerID = &cust.ID
		return s.q(ctx).Omit("Customer").Create(conv).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	s := db.Read()
	var wantID Identity
	if err := s.q(ctx).Preload("Customer").Take(&wantID, id.ID).Error; err != nil {
		t.Fatal(err)
	}
	gotID, err := s.identityByExternal(ctx, id.Channel, id.ExternalID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*gotID, wantID) {
		t.Errorf("identity:\n got %+v\nwant %+v", *gotID, wantID)
	}
	var wantConv Conversation
	if err := s.q(ctx).Take(&wantConv, conv.ID).Error; err != nil {
		t.Fatal(err)
	}
	gotConv, err := s.FindConversation(ctx, conv.Channel, conv.ChatID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*gotConv, wantConv) {
		t.Errorf("conversation:\n got %+v\nwant %+v", *gotConv, wantConv)
	}
	if _, err := s.FindConversation(ctx, "nowhere", "x"); err != ErrNotFound {
		t.Errorf("missing conversation: %v, want ErrNotFound", err)
	}
	if _, err := s.identityByExternal(ctx, "nowhere", "x"); err != ErrNotFound {
		t.Errorf("missing identity: %v, want ErrNotFound", err)
	}
}

// fill sets every plain field of the struct v points to to a value that is
// not zero; ids and associations are left to the database.
func fill(v any) {
	rv := reflect.ValueOf(v).Elem()
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for i := range rv.NumField() {
		f, name := rv.Field(i), rv.Type().Field(i).Name
		if name == "ID" || name == "CustomerID" {
			continue
		}
		switch f.Interface().(type) {
		case string:
			f.SetString("x" + name)
		case *string:
			s := "p" + name
			f.Set(reflect.ValueOf(&s))
		case bool:
			f.SetBool(true)
		case int, int64:
			f.SetInt(int64(7 + i))
		case *uint64:
			n := uint64(9 + i)
			f.Set(reflect.ValueOf(&n))
		case time.Time:
			f.Set(reflect.ValueOf(at.Add(time.Duration(i) * time.Hour)))
		case Slots:
			f.Set(reflect.ValueOf(Slots{"k": "v"}))
		}
	}
}
