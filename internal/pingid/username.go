package pingid

import (
	"fmt"
	"strings"
	"unicode"
)

// CheckUsername applies PingID's username rules before any API call: 1 to MaxUsernameLength
// characters, no leading or trailing whitespace, no control characters. Configuration
// validators and the gather step use it so that a bad name fails early with a clear message.
func CheckUsername(u string) error {
	switch n := len([]rune(u)); {
	case n == 0:
		return fmt.Errorf("the username is empty")
	case n > MaxUsernameLength:
		return fmt.Errorf("the username is %d characters long; PingID allows at most %d", n, MaxUsernameLength)
	case strings.TrimSpace(u) != u:
		return fmt.Errorf("the username %q has leading or trailing whitespace", u)
	}
	for _, r := range u {
		if unicode.IsControl(r) {
			return fmt.Errorf("the username %q contains a control character", u)
		}
	}
	return nil
}
