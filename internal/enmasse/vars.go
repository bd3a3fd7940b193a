package enmasse

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/plexushq/plexus/internal/redact"
)

// Variable references in values:
//
//	${VAR}                  replaced with the variable's value
//	$${                     a literal ${
//	Zato_Enmasse_Env.VAR    Zato's legacy spelling, as a whole value
//
// A value written with an explicit tag (!!str "${X}") is taken literally.
var legacyVar = regexp.MustCompile(`^Zato_Enmasse_Env\.([A-Za-z_][A-Za-z0-9_]*)$`)

// zatoNoSecurity is Zato 3.2's name for "no security definition"; as a
// value it means the field is not set.
const zatoNoSecurity = "zato-no-security"

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r > unicode.MaxASCII || !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// expand replaces the ${VAR} references of s with what value returns.
// whole reports whether s is exactly one reference.
func expand(s string, value func(name string) string) (out string, whole bool, err error) {
	if !strings.Contains(s, "$") {
		return s, false, nil
	}
	var b strings.Builder
	refs := 0
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return s, false, errors.New(`"${" is not closed by "}" (write $${ for a literal ${)`)
			}
			name := s[i+2 : i+2+end]
			if !validVarName(name) {
				return s, false, fmt.Errorf("${%s}: a variable name has letters, digits and _ (write $${ for a literal ${)", redact.Short(name))
			}
			b.WriteString(value(name))
			refs++
			i += end + 3
			if refs == 1 && i == len(s) && strings.HasPrefix(s, "${") {
				whole = true
			}
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), whole, nil
}

// escapeVars makes a literal value safe from substitution: every ${
// becomes $${.
func escapeVars(s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return strings.ReplaceAll(s, "${", "$${")
}

// varRefs returns the variable names a value refers to.
func varRefs(s string) []string {
	if m := legacyVar.FindStringSubmatch(s); m != nil {
		return []string{m[1]}
	}
	var names []string
	expand(s, func(name string) string {
		names = append(names, name)
		return ""
	})
	return names
}

// VarName returns the variable a secret is exported as: the kind, the
// object's name and the field's path joined by _, upper-cased, with every
// run of characters other than A-Z and 0-9 turned into one _. For example
// the password of security "billing.api.creds" is
// SECURITY_BILLING_API_CREDS_PASSWORD.
func VarName(kind, name, field string) string {
	s := strings.ToUpper(kind + "_" + name + "_" + field)
	var b strings.Builder
	under := false
	for _, r := range s {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			under = false
			continue
		}
		if !under {
			b.WriteByte('_')
			under = true
		}
	}
	return strings.Trim(b.String(), "_")
}
