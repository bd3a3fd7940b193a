package kvdb

// Match reports whether s matches a Redis glob pattern, byte by byte as
// SCAN's MATCH does: * any bytes, ? one byte, [abc] [a-z] [^a] one byte
// of a class, \x the byte x. It takes time proportional to the product of
// the lengths at most.
func Match(pattern, s string) bool {
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(s) {
		if p < len(pattern) {
			switch c := pattern[p]; c {
			case '*':
				starP, starI = p, i
				p++
				continue
			case '?':
				p++
				i++
				continue
			case '[':
				if ok, next := matchClass(pattern, p, s[i]); ok {
					p, i = next, i+1
					continue
				}
			case '\\':
				if p+1 < len(pattern) {
					if pattern[p+1] == s[i] {
						p, i = p+2, i+1
						continue
					}
					break
				}
				fallthrough
			default:
				if c == s[i] {
					p++
					i++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starI++
		p, i = starP+1, starI
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchClass matches byte b against the class starting at pattern[p]
// ('['), returning whether it matched and the index after the class. An
// unterminated class runs to the end of the pattern.
func matchClass(pattern string, p int, b byte) (bool, int) {
	p++
	neg := p < len(pattern) && pattern[p] == '^'
	if neg {
		p++
	}
	matched := false
	for p < len(pattern) && pattern[p] != ']' {
		switch {
		case pattern[p] == '\\' && p+1 < len(pattern):
			if pattern[p+1] == b {
				matched = true
			}
			p += 2
		case p+2 < len(pattern) && pattern[p+1] == '-' && pattern[p+2] != ']':
			lo, hi := pattern[p], pattern[p+2]
			if lo > hi {
				lo, hi = hi, lo
			}
			if b >= lo && b <= hi {
				matched = true
			}
			p += 3
		default:
			if pattern[p] == b {
				matched = true
			}
			p++
		}
	}
	if p < len(pattern) {
		p++ // the closing ]
	}
	return matched != neg, p
}
