package render

import (
	"reflect"
	"testing"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// viaJSON decodes a document the reference way: YAML to JSON, then JSON as
// Kubernetes decodes it.
func viaJSON(data []byte) (any, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var v any
	if err := utiljson.Unmarshal(js, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeSeeds are documents with every kind of scalar and key.
var decodeSeeds = []string{
	cmA,
	"a: 1\nb: -7\nc: 1.5\nd: 3.0\ne: 1e3\nf: 1e21\ng: 1e-7\nh: 0x1F\ni: 0o17\nj: 017\nk: 9223372036854775807\nl: 9223372036854775808\n",
	"m: 18446744073709551615\nn: 1e20\no: -0.0\np: .5\nq: 123456789012345678\nr: 0.1\ns: 100000000000000000000\n",
	"t: yes\nu: No\nv: on\nw: off\nx: ~\ny: null\nz: true\naa: 'yes'\nbb: \"1\"\n",
	"1: int key\n2.5: float key\ntrue: bool key\n0.1: tenth\n",
	"ts: 2001-12-14t21:59:43.10-05:00\nday: 2002-12-14\nbin: !!binary aGVsbG8=\n",
	"list: [1, two, 3.5, {x: y}, [nested]]\nempty: {}\nnone: []\n",
	"base: &b {a: 1, b: 2}\nmerged:\n  <<: *b\n  c: 3\n",
	"bad: \"\\xff\\xfeok\"\nmulti: |\n  line one\n  line two\n",
	"- a\n- b\n",
	"plain scalar\n",
	"",
	"# only a comment\n",
	"inf: .inf\n",
	"nan: .NaN\n",
	"? [complex, key]\n: value\n",
	"dup: 1\ndup: 2\n",
}

func TestDecodeYAMLMatchesJSONRoundTrip(t *testing.T) {
	for _, doc := range decodeSeeds {
		checkDecode(t, []byte(doc))
	}
}

func checkDecode(t *testing.T, doc []byte) {
	t.Helper()
	want, wantErr := viaJSON(doc)
	got, err := decodeYAML(doc)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("document %q: decodeYAML error %v, reference error %v", doc, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("document %q:\n got %#v\nwant %#v", doc, got, want)
	}
}

// FuzzDecodeYAML compares decodeYAML with the JSON round trip on any input.
func FuzzDecodeYAML(f *testing.F) {
	for _, doc := range decodeSeeds {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkDecode(t, doc)
	})
}
