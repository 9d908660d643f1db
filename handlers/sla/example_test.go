package sla_test

import (
	"fmt"
	"time"

	"github.com/kefu-bot/kefu/handlers/sla"
)

func ExampleCalendar_Add() {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	cal, err := sla.ParseCalendar(loc, "mon-fri 09:00-18:00", []string{"2026-10-01"}, nil)
	if err != nil {
		panic(err)
	}
	friday := time.Date(2026, 3, 6, 20, 0, 0, 0, loc)
	fmt.Println(cal.Add(friday, time.Hour).Format("Mon 15:04"))
	// Output: Mon 10:00
}

func ExampleClock() {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	cal, _ := sla.ParseCalendar(loc, "mon-fri 09:00-12:00,13:30-18:00", nil, nil)
	target, _ := sla.DefaultPolicy().Lookup("P1")
	k := sla.Clock{
		Calendar: cal,
		Start:    time.Date(2026, 3, 2, 10, 0, 0, 0, loc),
		Target:   target.Resolution, // 4h
		Pauses: []sla.Interval{ // waiting on the customer
			{Start: time.Date(2026, 3, 2, 11, 0, 0, 0, loc), End: time.Date(2026, 3, 2, 14, 0, 0, 0, loc)},
		},
	}
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, loc)
	fmt.Println(k.Used(now), k.Due(now).Format("15:04"), k.Fraction(now))
	// Output: 2h0m0s 17:00 0.5
}
