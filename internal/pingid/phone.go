package pingid

import "strings"

// NormalizePhoneNumber returns a phone number the way PingID may store it: the separators people
// write (blanks, '-', '.', '/', parentheses) are dropped; a leading '+' is kept, and so is an
// extension after a ',' with its digits, '#' and '*'. So
// "+1 (555) 010-2030" and "+15550102030" are one number, and "+1 202 555 0123, 2992#" becomes
// "+12025550123,2992#".
//
// Any other character (a letter, "ext.") is kept as it is, so such a value never silently turns
// into a different number: PingID refuses it and the error names it.
func NormalizePhoneNumber(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		// Digits, '+', ',', '#' and '*' are kept like any character that is not a separator.
		if !isPhoneSeparator(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// NormalizeDeviceValue is the form in which device values are compared and sent: phone numbers
// of SMS and Voice devices normalised (NormalizePhoneNumber), email addresses without
// surrounding blanks and in lower case (mail systems treat addresses case-insensitively, and a
// case difference must not replace a device on every run), anything else trimmed.
func NormalizeDeviceValue(deviceType, v string) string {
	switch {
	case strings.EqualFold(deviceType, DeviceTypeEmail), strings.EqualFold(deviceType, string(PairingEmail)):
		return strings.ToLower(strings.TrimSpace(v))
	case strings.EqualFold(deviceType, DeviceTypeSMS), strings.EqualFold(deviceType, DeviceTypeVoice):
		return NormalizePhoneNumber(v)
	}
	return strings.TrimSpace(v)
}

func isPhoneSeparator(r rune) bool {
	switch r {
	case ' ', '\t', '-', '.', '/', '(', ')', '\u00a0', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u202f':
		return true
	}
	return false
}
