package stdlib

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	sl "go.starlark.net/starlark"
)

// RFC 4648, section 10: the test vectors of every encoding, both ways.
func TestBase64RFC4648(t *testing.T) {
	vectors := []struct{ in, b64, b32, b32hex, b16 string }{
		{"", "", "", "", ""},
		{"f", "Zg==", "MY======", "CO======", "66"},
		{"fo", "Zm8=", "MZXQ====", "CPNG====", "666F"},
		{"foo", "Zm9v", "MZXW6===", "CPNMU===", "666F6F"},
		{"foob", "Zm9vYg==", "MZXW6YQ=", "CPNMUOG=", "666F6F62"},
		{"fooba", "Zm9vYmE=", "MZXW6YTB", "CPNMUOJ1", "666F6F6261"},
		{"foobar", "Zm9vYmFy", "MZXW6YTBOI======", "CPNMUOJ1E8======", "666F6F626172"},
	}
	for _, v := range vectors {
		for _, c := range []struct{ enc, dec, want string }{
			{"b64encode", "b64decode", v.b64}, {"urlsafe_b64encode", "urlsafe_b64decode", v.b64},
			{"b32encode", "b32decode", v.b32}, {"b32hexencode", "b32hexdecode", v.b32hex}, {"b16encode", "b16decode", v.b16},
		} {
			if got := eval(t, fmt.Sprintf(`base64.%s(%q)`, c.enc, v.in)); got != c.want {
				t.Errorf("%s(%q) = %q, want %q", c.enc, v.in, got, c.want)
			}
			if got := eval(t, fmt.Sprintf(`str(base64.%s(%q))`, c.dec, c.want)); got != v.in {
				t.Errorf("%s(%q) = %q, want %q", c.dec, c.want, got, v.in)
			}
		}
	}
	check(t, [][2]string{
		{`base64.b64encode(b"\xfb\xff")`, "+/8="},
		{`base64.urlsafe_b64encode(b"\xfb\xff")`, "-_8="},
		{`base64.urlsafe_b64decode("-_8=") == b"\xfb\xff"`, "True"},
		{`str(base64.b64decode("Zm9v\nYmFy"))`, "foobar"},
		{`base64.b64decode("Zm9v YmFy", validate=True)`, "error: base64.b64decode: non-base64 characters in the input"},
		{`base64.b64decode("Zm9vYg")`, "error: base64.b64decode: incorrect padding: the length without other characters, 6, is not a multiple of 4"},
		{`str(base64.b16decode("666f6f", casefold=True))`, "foo"},
		{`base64.b16decode("666f6f")`, "error: base64.b16decode: lower-case digits: pass casefold=True to accept them"},
		{`base64.b64encode(1)`, "error: base64.b64encode: got int, want str or bytes"},
	})
}

// NIST's "abc" vectors (FIPS 180-4 examples, FIPS 202 for SHA-3, RFC 1321
// for MD5) and the empty message.
func TestHashlib(t *testing.T) {
	for _, c := range []struct{ name, abc, empty string }{
		{"md5", "900150983cd24fb0d6963f7d28e17f72", "d41d8cd98f00b204e9800998ecf8427e"},
		{"sha1", "a9993e364706816aba3e25717850c26c9cd0d89d", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{"sha224", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7", "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f"},
		{"sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"sha384", "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7", "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"},
		{"sha512", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
		{"sha3_256", "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532", "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"},
		{"sha3_512", "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0", "a69f73cca23a9ac5c8b567dc185a756e97c982164fe25859e0d1dcc1475c80a615b2123af1f5f94c11e3e9402c3ac558f500199d95b6d3e301758586281dcd26"},
	} {
		check(t, [][2]string{
			{fmt.Sprintf(`hashlib.%s(b"abc").hexdigest()`, c.name), c.abc},
			{fmt.Sprintf(`hashlib.new(%q, "abc").hexdigest()`, c.name), c.abc},
			{fmt.Sprintf(`hashlib.%s().hexdigest()`, c.name), c.empty},
		})
	}
	check(t, [][2]string{
		// FIPS 180-4's two-block message, fed in pieces.
		{`(lambda h: [h.update("abcdbcdecdefdefgefghfghighijhijk"), h.update("ijkljklmklmnlmnomnopnopq"), h.hexdigest()][-1])(hashlib.sha1())`, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
		// A million "a", the long NIST vector.
		{`hashlib.sha256("a" * 1000000).hexdigest()`, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
		{`(lambda h: (h.copy().hexdigest() == h.hexdigest(), h.name, h.digest_size, h.block_size))(hashlib.sha256(b"x"))`, `(True, "sha256", 32, 64)`},
		{`len(hashlib.sha512(b"x").digest())`, "64"},
		{`hashlib.new("whirlpool")`, `error: hashlib.new: unsupported hash type "whirlpool": use one of md5, sha1, sha224, sha256, sha384, sha3_224, sha3_256, sha3_384, sha3_512, sha512`},
	})
}

// RFC 4231: HMAC-SHA-256 and HMAC-SHA-512 (test case 5, truncated
// output, is left out as the RFC allows).
func TestHMACRFC4231(t *testing.T) {
	for _, c := range []struct {
		n              int
		key, data      string
		sha256, sha512 string
	}{
		{1, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
		{2, "4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
		{3, strings.Repeat("aa", 20), strings.Repeat("dd", 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"},
		{4, "0102030405060708090a0b0c0d0e0f10111213141516171819", strings.Repeat("cd", 50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"},
		{6, strings.Repeat("aa", 131), hex.EncodeToString([]byte("Test Using Larger Than Block-Size Key - Hash Key First")), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
		{7, strings.Repeat("aa", 131), hex.EncodeToString([]byte("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.")), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"},
	} {
		key := fmt.Sprintf(`base64.b16decode(%q, casefold=True)`, c.key)
		data := fmt.Sprintf(`base64.b16decode(%q, casefold=True)`, c.data)
		for _, h := range []struct{ mod, want string }{{`"sha256"`, c.sha256}, {`hashlib.sha512`, c.sha512}} {
			if got := eval(t, fmt.Sprintf(`hmac.new(%s, %s, %s).hexdigest()`, key, data, h.mod)); got != h.want {
				t.Errorf("test case %d, %s: %s, want %s", c.n, h.mod, got, h.want)
			}
		}
		// In pieces, through a copy, and in one call.
		pieces := fmt.Sprintf(`(lambda m, d: [m.update(d[:3]), m.copy().update(b"x"), m.update(d[3:]), m.hexdigest()][-1])(hmac.new(%s, digestmod="sha256"), %s)`, key, data)
		if got := eval(t, pieces); got != c.sha256 {
			t.Errorf("test case %d in pieces: %s", c.n, got)
		}
		if got := eval(t, fmt.Sprintf(`hmac.digest(%s, %s, "sha256") == hmac.new(%s, %s, "sha256").digest()`, key, data, key, data)); got != "True" {
			t.Errorf("test case %d: hmac.digest differs", c.n)
		}
	}
	check(t, [][2]string{
		{`hmac.compare_digest("abc", "abc")`, "True"},
		{`hmac.compare_digest(b"abc", b"abd")`, "False"},
		{`hmac.compare_digest("abc", b"abc")`, "error: hmac.compare_digest: cannot compare a string with a bytes"},
		{`hmac.new("k", "m")`, `error: hmac.new: missing digestmod: name the hash, as in hmac.new(key, msg, "sha256")`},
		{`hmac.new("k", "m", "sha256").name`, "hmac-sha256"},
	})
}

var (
	uuidText = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-([0-9a-f])[0-9a-f]{3}-([0-9a-f])[0-9a-f]{3}-[0-9a-f]{12}$`)
)

// RFC 9562: version 7 puts the Unix milliseconds in the first 48 bits, the
// version (7) in the next 4, then the variant 10; version 4 is random with
// the same variant; 3 and 5 hash a name (the RFC's and Python's examples).
func TestUUID(t *testing.T) {
	// The clock of the RFC's example: 2022-02-22T19:22:22Z, 0x017F22E279B0.
	at := time.Date(2022, 2, 22, 19, 22, 22, 0, time.UTC)
	th := newThread(Limits{Now: func() time.Time { return at }})
	fn, _ := Predeclared()["uuid"].(sl.HasAttrs).Attr("uuid7")
	v, err := sl.Call(th, fn, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := v.(UUID)
	s := u.String()
	m := uuidText.FindStringSubmatch(s)
	if m == nil || !strings.HasPrefix(s, "017f22e2-79b0-7") || m[1] != "7" || !strings.Contains("89ab", m[2]) {
		t.Errorf("uuid7 at the RFC's time: %s", s)
	}
	if u[8]>>6 != 0b10 || u[6]>>4 != 7 {
		t.Errorf("uuid7 version and variant bits: %08b %08b", u[6], u[8])
	}
	// Later clocks sort later, even within one millisecond.
	prev := ""
	for i := 0; i < 100; i++ {
		at := at.Add(time.Duration(i) * 300 * time.Microsecond)
		s := newUUID7(at).String()
		if s <= prev {
			t.Errorf("uuid7 %s made after %s sorts before it", s, prev)
		}
		prev = s
	}
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		s := eval(t, `uuid.uuid4()`)
		m := uuidText.FindStringSubmatch(s)
		if m == nil || m[1] != "4" || !strings.Contains("89ab", m[2]) || seen[s] {
			t.Fatalf("uuid4: %s", s)
		}
		seen[s] = true
	}
	check(t, [][2]string{
		{`uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")`, "886313e1-3b8a-5372-9b90-0c9aee199e5d"},
		{`uuid.uuid3(uuid.NAMESPACE_DNS, "python.org")`, "6fa459ea-ee8a-3ca4-894e-db77e160355e"},
		{`uuid.uuid7().time`, "1645557742123"},
		{`(lambda u: (u.hex, u.str, u.urn, u.version, u.variant))(uuid.UUID("{12345678-1234-5678-1234-567812345678}"))`,
			`("12345678123456781234567812345678", "12345678-1234-5678-1234-567812345678", "urn:uuid:12345678-1234-5678-1234-567812345678", None, "reserved for NCS compatibility")`},
		{`uuid.UUID("886313E13B8A53729B900C9AEE199E5D") == uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")`, "True"},
		{`uuid.UUID("886313e1-3b8a-5372-9b90-0c9aee199e5d").version`, "5"},
		{`uuid.UUID("1234")`, `error: uuid.UUID: "1234" is not a UUID: want 32 hex digits`},
		{`json.encode([uuid.UUID("886313e1-3b8a-5372-9b90-0c9aee199e5d")])`, `["886313e1-3b8a-5372-9b90-0c9aee199e5d"]`},
	})
}
