package decrypt

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Format is the format of a SOPS-encrypted file, named as SOPS names it.
type Format string

// The formats SOPS encrypts.
const (
	FormatYAML   Format = "yaml"
	FormatJSON   Format = "json"
	FormatDotenv Format = "dotenv"
	FormatINI    Format = "ini"
	FormatBinary Format = "binary"
)

// metadataKey is the top-level key SOPS stores its metadata under.
const metadataKey = "sops"

// keySourceFields are the metadata fields that list master keys, each entry with an "enc".
var keySourceFields = []string{"age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms", "key_groups"}

var (
	sopsWord    = []byte(metadataKey)
	utf8BOM     = []byte("\ufeff")
	yamlKeyLine = regexp.MustCompile(`(?m)^sops:`)
	iniSection  = regexp.MustCompile(`(?m)^[ \t]*\[sops\][ \t]*\r?$`)
	iniMetaLine = regexp.MustCompile(`(?m)^[ \t]*(mac|\w+__map_enc)[ \t]*=`)
	dotenvMeta  = regexp.MustCompile(`(?m)^sops_(mac|\w+__map_enc)=`)
)

// Detect reports whether data is a SOPS-encrypted file, and its format. The decision rests on
// the SOPS metadata in data, not on name; name (a path or a base name) only settles the one
// ambiguity of the format: a document whose only field is "data" is a binary file (as the
// sops CLI would decrypt it) unless name ends in .json, .yaml or .yml.
func Detect(name string, data []byte) (Format, bool) {
	if !bytes.Contains(data, sopsWord) {
		return "", false
	}
	body := bytes.TrimLeft(bytes.TrimPrefix(data, utf8BOM), " \t\r\n")
	switch {
	case len(body) > 0 && body[0] == '{':
		return detectJSON(name, body)
	case iniSection.Match(data) && iniMetaLine.Match(data):
		return FormatINI, true
	case dotenvMeta.Match(data):
		return FormatDotenv, true
	case yamlKeyLine.Match(data):
		return detectYAML(name, data)
	}
	return "", false
}

// detectJSON finds SOPS metadata under the top-level "sops" key of a JSON object. A document
// that looks like SOPS JSON but does not parse is reported as encrypted, so that decryption
// fails on it as malformed instead of passing it on.
func detectJSON(name string, body []byte) (Format, bool) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		if bytes.Contains(body, []byte(`"sops"`)) {
			return FormatJSON, true
		}
		return "", false
	}
	raw, ok := top[metadataKey]
	if !ok {
		return "", false
	}
	var meta any
	if err := json.Unmarshal(raw, &meta); err != nil || !isMetadata(meta) {
		return "", false
	}
	return binaryOr(name, FormatJSON, len(top) == 2 && top["data"] != nil), true
}

// detectYAML finds SOPS metadata under a top-level "sops" key of any document. As for JSON, a
// file with a top-level "sops:" line that does not parse (or panics the parser) is reported as
// encrypted, so decryption refuses it.
func detectYAML(name string, data []byte) (format Format, ok bool) {
	defer func() {
		if recover() != nil {
			format, ok = FormatYAML, true
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	found, onlyData := false, false
	for docIndex := 0; ; docIndex++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return FormatYAML, true
		}
		meta, keys := yamlTopLevel(&doc)
		if meta == nil {
			continue
		}
		var v any
		if meta.Decode(&v) != nil || !isMetadata(v) {
			continue
		}
		if !found {
			onlyData = docIndex == 0 && len(keys) == 2 && slices.Contains(keys, "data")
		}
		found = true
	}
	if !found {
		return "", false
	}
	return binaryOr(name, FormatYAML, onlyData), true
}

// yamlTopLevel returns the value node of the top-level "sops" key of a document, if any, and
// the document's top-level keys.
func yamlTopLevel(doc *yaml.Node) (*yaml.Node, []string) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, nil
	}
	var meta *yaml.Node
	keys := make([]string, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		keys = append(keys, m.Content[i].Value)
		if m.Content[i].Value == metadataKey {
			meta = m.Content[i+1]
		}
	}
	return meta, keys
}

// binaryOr returns FormatBinary when the document holds only the binary store's "data" field
// and the name does not say the document is structured.
func binaryOr(name string, structured Format, onlyData bool) Format {
	if !onlyData {
		return structured
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".json", ".yaml", ".yml":
		return structured
	}
	return FormatBinary
}

// isMetadata reports whether v, the value of a top-level "sops" key, is SOPS metadata: a
// mapping with a "mac" field or with a master key entry carrying an "enc" field.
func isMetadata(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	if _, ok := m["mac"]; ok {
		return true
	}
	for _, field := range keySourceFields {
		if hasEnc(m[field], 3) {
			return true
		}
	}
	return false
}

// hasEnc reports whether v holds, within depth levels of lists and maps, a map with "enc".
func hasEnc(v any, depth int) bool {
	if depth < 0 {
		return false
	}
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["enc"]; ok {
			return true
		}
		for _, child := range v {
			if hasEnc(child, depth-1) {
				return true
			}
		}
	case []any:
		for _, child := range v {
			if hasEnc(child, depth-1) {
				return true
			}
		}
	}
	return false
}
