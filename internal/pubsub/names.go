package pubsub

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// MaxTopicName is the longest topic name, in characters (Zato's).
const MaxTopicName = 200

// CheckTopicName says what is wrong with a topic name under Zato's rules,
// or returns nil.
func CheckTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("a topic name must not be empty")
	case len(name) > MaxTopicName:
		return fmt.Errorf("a topic name has at most %d characters, not %d", MaxTopicName, len(name))
	case strings.Contains(name, "#"):
		return fmt.Errorf("a topic name must not contain '#'")
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] > 0x7e {
			return fmt.Errorf("a topic name holds printable ASCII characters only")
		}
	}
	low := strings.ToLower(name)
	for _, reserved := range []string{"zato", "zpsk"} {
		if strings.Contains(low, reserved) {
			return fmt.Errorf("a topic name must not contain %q, which is reserved", reserved)
		}
	}
	return nil
}

// serviceTopicPrefix starts the hidden topics and subscriptions of
// publishing to a service; no configured topic can take such a name.
const serviceTopicPrefix = "zpsk.service."

// newMsgID returns a new message id: zpsm, then the time in milliseconds
// and 8 random bytes, in hex, so that ids sort by publication time.
func newMsgID(now time.Time) string {
	var b [14]byte
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	rand.Read(b[6:])
	return "zpsm" + hex.EncodeToString(b[:])
}
