package rules

import (
	"fmt"
	"regexp"
	"strings"

	"relayguard/rules/heuristics"
)

// [[brand]] tables: an operator's rule file may add brands to the table
// the BRAND_* and LOOKALIKE_* heuristics read, or replace one of the
// built-in brands (heuristics/brands.toml) by naming it:
//
//	[[brand]]
//	name    = "Example Bank"
//	words   = ["example bank", "exbank"]
//	domains = ["examplebank.com", "exbank.*"]
//
// A brand with words = [] turns a built-in brand off. Later files win.

var brandHeaderRE = regexp.MustCompile(`^\s*\[\[\s*brand\s*\]\]`)

// decodeBrands reads the [[brand]] tables of one file, checking each.
func decodeBrands(file string, v any, data []byte) ([]heuristics.Brand, []Problem) {
	var probs []Problem
	var headers []int
	for i, l := range strings.Split(string(data), "\n") {
		if brandHeaderRE.MatchString(l) {
			headers = append(headers, i+1)
		}
	}
	tables, ok := ruleTables(v)
	if !ok {
		return nil, []Problem{{File: file, Msg: fmt.Sprintf("brand: write each brand as a [[brand]] table, got %s", tomlType(v))}}
	}
	var out []heuristics.Brand
	for i, tbl := range tables {
		line := 0
		if i < len(headers) {
			line = headers[i]
		}
		bad := func(format string, args ...any) {
			probs = append(probs, Problem{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
		}
		var b heuristics.Brand
		okTable := true
		for _, k := range sortedKeys(tbl) {
			switch k {
			case "name":
				s, isStr := tbl[k].(string)
				if !isStr {
					bad("brand: name must be a string, got %s", tomlType(tbl[k]))
					okTable = false
				}
				b.Name = s
			case "words", "domains":
				list, isList := stringList(tbl[k])
				if !isList {
					bad("brand %s: %s must be a list of strings, got %s", b.Name, k, tomlType(tbl[k]))
					okTable = false
				}
				if k == "words" {
					b.Words = list
				} else {
					b.Domains = list
				}
			case "news":
				v, isBool := tbl[k].(bool)
				if !isBool {
					bad("brand %s: news must be true or false, got %s", b.Name, tomlType(tbl[k]))
					okTable = false
				}
				b.News = v
			default:
				bad("brand: unknown field %q (a brand has name, words, domains and news)", k)
				okTable = false
			}
		}
		if !okTable {
			continue
		}
		if len(b.Words) > 0 {
			if msg := heuristics.CheckBrand(b); msg != "" {
				bad("%s", msg)
				continue
			}
		} else if strings.TrimSpace(b.Name) == "" {
			bad("brand without a name")
			continue
		}
		out = append(out, b)
	}
	return out, probs
}

// stringList reads a TOML array of strings; an empty array is a list.
func stringList(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, isStr := e.(string)
		if !isStr {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// brandTable is the built-in brand table with every file's [[brand]]
// tables on top, in file order.
func brandTable(files []*parsedFile) (*heuristics.Brands, error) {
	var extra []heuristics.Brand
	for _, f := range files {
		extra = append(extra, f.brands...)
	}
	if len(extra) == 0 {
		return heuristics.DefaultBrands(), nil
	}
	return heuristics.NewBrands(extra)
}
