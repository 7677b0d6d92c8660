package maintenance

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule says when maintenance runs next.
type Schedule struct {
	every time.Duration  // run every this long, or
	daily *time.Duration // run each day at this offset from midnight UTC
}

// ParseSchedule reads the maintenanceSchedule config key. It accepts the
// forms of the Java ice-rest-catalog's schedules that mean a fixed period
// ("every day 00:00", "every day", "every 6 hours", "every 30 minutes",
// "every hour") and a Go duration ("6h").
func ParseSchedule(s string) (Schedule, error) {
	f := strings.Fields(strings.ToLower(strings.TrimSpace(s)))
	if len(f) == 1 {
		d, err := time.ParseDuration(f[0])
		if err != nil || d <= 0 {
			return Schedule{}, fmt.Errorf("maintenanceSchedule %q: want e.g. \"every day 00:00\", \"every 6 hours\" or \"6h\"", s)
		}
		return Schedule{every: d}, nil
	}
	if len(f) < 2 || f[0] != "every" {
		return Schedule{}, fmt.Errorf("maintenanceSchedule %q: want e.g. \"every day 00:00\", \"every 6 hours\" or \"6h\"", s)
	}
	n, rest := 1, f[1:]
	if v, err := strconv.Atoi(rest[0]); err == nil && len(rest) > 1 {
		if v <= 0 {
			return Schedule{}, fmt.Errorf("maintenanceSchedule %q: the period must be positive", s)
		}
		n, rest = v, rest[1:]
	}
	unit := strings.TrimSuffix(rest[0], "s")
	var d time.Duration
	switch unit {
	case "minute":
		d = time.Minute
	case "hour":
		d = time.Hour
	case "day":
		d = 24 * time.Hour
	default:
		return Schedule{}, fmt.Errorf("maintenanceSchedule %q: unknown unit %q (minutes, hours or days)", s, rest[0])
	}
	if len(rest) == 2 && unit == "day" && n == 1 {
		at, err := time.Parse("15:04", rest[1])
		if err != nil {
			return Schedule{}, fmt.Errorf("maintenanceSchedule %q: time of day %q is not HH:MM", s, rest[1])
		}
		off := time.Duration(at.Hour())*time.Hour + time.Duration(at.Minute())*time.Minute
		return Schedule{daily: &off}, nil
	}
	if len(rest) != 1 {
		return Schedule{}, fmt.Errorf("maintenanceSchedule %q: unexpected %q", s, strings.Join(rest[1:], " "))
	}
	return Schedule{every: time.Duration(n) * d}, nil
}

// Next is the first run time after now.
func (s Schedule) Next(now time.Time) time.Time {
	if s.daily != nil {
		now = now.UTC()
		day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		at := day.Add(*s.daily)
		if !at.After(now) {
			at = at.Add(24 * time.Hour)
		}
		return at
	}
	return now.Add(s.every)
}
