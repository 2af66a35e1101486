package helm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	chart "helm.sh/helm/v4/pkg/chart/v2"
)

// ErrSchemaRef is a values.schema.json that refers to another document:
// Helm's validator would read it from a file or URL.
var ErrSchemaRef = errors.New("values.schema.json may refer only to itself (\"#...\"), never to a file or URL")

// metaSchemas are the "$schema" values the validator knows without loading.
var metaSchemas = map[string]bool{
	"http://json-schema.org/draft-04/schema":       true,
	"http://json-schema.org/draft-06/schema":       true,
	"http://json-schema.org/draft-07/schema":       true,
	"https://json-schema.org/draft/2019-09/schema": true,
	"https://json-schema.org/draft/2020-12/schema": true,
}

// refKeywords are the keywords whose value the validator resolves and loads.
var refKeywords = map[string]bool{"$ref": true, "$dynamicRef": true, "$recursiveRef": true}

// checkSchemas refuses a values.schema.json, of the chart or any subchart,
// that the validator would complete by loading another document.
func checkSchemas(c *chart.Chart) error {
	if len(c.Schema) > 0 {
		var doc any
		// An invalid schema is left to Helm to report.
		if json.Unmarshal(c.Schema, &doc) == nil {
			if err := checkSchemaValue(doc, ""); err != nil {
				return fmt.Errorf("chart %s: values.schema.json%w", c.Name(), err)
			}
		}
	}
	for _, d := range c.Dependencies() {
		if err := checkSchemas(d); err != nil {
			return err
		}
	}
	return nil
}

func checkSchemaValue(v any, at string) error {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			s, isString := x.(string)
			switch {
			case refKeywords[k] && isString && !strings.HasPrefix(s, "#"):
				return fmt.Errorf(" %s/%s: %w", at, k, ErrSchemaRef)
			case k == "$schema" && isString && !metaSchemas[strings.TrimSuffix(s, "#")]:
				return fmt.Errorf(" %s/%s: unknown meta-schema: %w", at, k, ErrSchemaRef)
			}
			if err := checkSchemaValue(x, at+"/"+k); err != nil {
				return err
			}
		}
	case []any:
		for i, x := range v {
			if err := checkSchemaValue(x, fmt.Sprintf("%s/%d", at, i)); err != nil {
				return err
			}
		}
	}
	return nil
}
