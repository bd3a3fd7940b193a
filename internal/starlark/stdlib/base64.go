package stdlib

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	sl "go.starlark.net/starlark"
)

// base64Module is base64: encoders return str (there is nothing to
// .decode()), decoders bytes (str(b) makes text of them).
func base64Module() sl.Value {
	std, url := base64.StdEncoding, base64.URLEncoding
	b32, b32hex := base32.StdEncoding, base32.HexEncoding
	return module("base64", fns("base64", map[string]builtinFunc{
		"b64encode":          encoder(std.EncodeToString),
		"standard_b64encode": encoder(std.EncodeToString),
		"urlsafe_b64encode":  encoder(url.EncodeToString),
		"b32encode":          encoder(b32.EncodeToString),
		"b32hexencode":       encoder(b32hex.EncodeToString),
		"b16encode":          encoder(func(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }),
		"b64decode":          b64decoder(std, "+/"),
		"standard_b64decode": b64decoder(std, "+/"),
		"urlsafe_b64decode":  b64decoder(url, "-_"),
		"b32decode":          b32decoder(b32),
		"b32hexdecode":       b32decoder(b32hex),
		"b16decode":          b16decode,
	}))
}

func encoder(enc func([]byte) string) builtinFunc {
	return func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var v sl.Value
		if err := sl.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
			return nil, err
		}
		s, err := text(b.Name(), v)
		if err != nil {
			return nil, err
		}
		if err := coded(thread, b.Name(), len(s), 2*len(s)); err != nil {
			return nil, err
		}
		return sl.String(enc([]byte(s))), nil
	}
}

// coded counts reading in bytes and making about out.
func coded(thread *sl.Thread, fn string, in, out int) error {
	if err := spendBytes(thread, in, fn); err != nil {
		return err
	}
	return charge(thread, textBytes(out), fn)
}

// b64decoder decodes as Python does without validate=True: characters
// outside the alphabet are dropped first; with validate=True they are an
// error. Padding is required, as in Python.
func b64decoder(enc *base64.Encoding, extra string) builtinFunc {
	return func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		s, validate, err := decoderArgs(thread, b, args, kwargs, "validate?")
		if err != nil {
			return nil, err
		}
		in := alphabetOnly(s, extra)
		if validate && in != s {
			return nil, fmt.Errorf("%s: non-base64 characters in the input", b.Name())
		}
		if len(in)%4 != 0 {
			return nil, fmt.Errorf("%s: incorrect padding: the length without other characters, %d, is not a multiple of 4", b.Name(), len(in))
		}
		out, err := enc.DecodeString(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return sl.Bytes(out), nil
	}
}

// decoderArgs reads (s, flag=False) of a decoder and counts the work.
func decoderArgs(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple, flagName string) (string, bool, error) {
	var v sl.Value
	flag := false
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "s", &v, flagName, &flag); err != nil {
		return "", false, err
	}
	s, err := text(b.Name(), v)
	if err != nil {
		return "", false, err
	}
	return s, flag, coded(thread, b.Name(), len(s), len(s))
}

// alphabetOnly keeps the characters of base64 (with extra as its last
// two) and padding.
func alphabetOnly(s, extra string) string {
	keep := func(c byte) bool {
		return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '=' || c == extra[0] || c == extra[1]
	}
	for i := 0; i < len(s); i++ {
		if !keep(s[i]) {
			var b strings.Builder
			for j := 0; j < len(s); j++ {
				if keep(s[j]) {
					b.WriteByte(s[j])
				}
			}
			return b.String()
		}
	}
	return s
}

func b32decoder(enc *base32.Encoding) builtinFunc {
	return func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		s, casefold, err := decoderArgs(thread, b, args, kwargs, "casefold?")
		if err != nil {
			return nil, err
		}
		if casefold {
			s = strings.ToUpper(s)
		}
		out, err := enc.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return sl.Bytes(out), nil
	}
}

func b16decode(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	s, casefold, err := decoderArgs(thread, b, args, kwargs, "casefold?")
	if err != nil {
		return nil, err
	}
	if casefold {
		s = strings.ToUpper(s)
	}
	if strings.ContainsAny(s, "abcdef") {
		return nil, fmt.Errorf("%s: lower-case digits: pass casefold=True to accept them", b.Name())
	}
	out, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return sl.Bytes(out), nil
}
