package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// checkWholeNumbers walks the YAML document alongside the type it decodes
// into and reports the first fractional number written for an integer
// field: yaml.v3 truncates it silently (`planner.ring: 2.7` would plan
// with ring 2, `ccf.layers: 2.5` with 2 layers). Whole numbers written as
// floats (`ring: 3.0`, `1e3`) are accepted, as yaml.v3 decodes them exactly.
func checkWholeNumbers(n *yaml.Node, t reflect.Type, path string) error {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			if err := checkWholeNumbers(c, t, path); err != nil {
				return err
			}
		}
		return nil
	}
	if n.Kind == yaml.AliasNode {
		return checkWholeNumbers(n.Alias, t, path)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" {
			v, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
			if err == nil && (math.IsNaN(v) || math.IsInf(v, 0) || v != math.Trunc(v)) {
				return fmt.Errorf("line %d: %s: %s is not a whole number", n.Line, path, n.Value)
			}
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if f, ok := yamlField(t, n.Content[i].Value); ok {
				if err := checkWholeNumbers(n.Content[i+1], f.Type, join(path, n.Content[i].Value)); err != nil {
					return err
				}
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkWholeNumbers(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, c := range n.Content {
			if err := checkWholeNumbers(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// yamlField finds the field of struct type t that the YAML key decodes
// into (yaml tags, inline structs included).
func yamlField(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if g, ok := yamlField(ft, key); ok {
					return g, true
				}
			}
			continue
		}
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// nameTypeErrors puts the key path in front of yaml.v3's type errors,
// which name only the line ("line 12: cannot unmarshal !!bool `true` into
// int" becomes "line 12: planner.fortify_warmup: cannot unmarshal …"),
// when the document has a value on that line.
func nameTypeErrors(data []byte, errs []string) []string {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return errs
	}
	paths := map[int]string{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], join(path, n.Content[i].Value))
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		}
		if _, ok := paths[n.Line]; !ok && path != "" {
			paths[n.Line] = path
		}
	}
	walk(&root, "")
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e
		var line int
		if _, err := fmt.Sscanf(e, "line %d:", &line); err != nil || !strings.Contains(e, "cannot unmarshal") {
			continue
		}
		if p, ok := paths[line]; ok {
			prefix := fmt.Sprintf("line %d:", line)
			out[i] = prefix + " " + p + ":" + strings.TrimPrefix(e, prefix)
		}
	}
	return out
}
