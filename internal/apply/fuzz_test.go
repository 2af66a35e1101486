package apply

import (
	"strings"
	"testing"
)

// FuzzEntryParse (RELIABILITY S16): an inventory ID from a status someone
// edited by hand parses or fails, never panics, and a parsed one names an
// object.
func FuzzEntryParse(f *testing.F) {
	for _, id := range []string{"team-a_web_apps_Deployment", "_ns__Namespace", "a_b_c", "___", "a_b_c_d_e", ""} {
		f.Add(id, "v1")
	}
	f.Fuzz(func(t *testing.T, id, version string) {
		obj, err := Entry{ID: id, Version: version}.Parse()
		if err != nil {
			return
		}
		if obj.Name == "" || obj.GroupVersionKind.Kind == "" || strings.Contains(obj.Name, "_") {
			t.Errorf("Parse(%q) = %+v: want a name and a kind", id, obj)
		}
		_ = obj.String()
		_ = Protected(Entry{ID: id, Version: version})
	})
}
