// Command validate checks rendered Kubernetes manifests offline: every document is decoded strictly into its
// k8s.io/api type (unknown fields, wrong types, duplicate keys, unknown kinds are errors), then the set is checked
// for mistakes the API server would accept but the mesh would not survive (selectors that miss their pods, probes
// on undeclared ports, references to objects that are not rendered, NetworkPolicies that select nothing, ...).
//
//	validate FILE...   each FILE (or - for stdin) is one rendered overlay, checked as a whole
//
// Exit status 0 when every file passes, 1 otherwise.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: validate FILE... (- for stdin); each FILE is one rendered overlay")
		os.Exit(2)
	}
	failed := false
	for _, path := range args {
		objs, errs := ValidateFile(path)
		name := path
		if path == "-" {
			name = "stdin"
		}
		if len(errs) > 0 {
			failed = true
			fmt.Printf("FAIL %s: %d problem(s)\n", name, len(errs))
			for _, e := range errs {
				fmt.Printf("  - %s\n", e)
			}
			continue
		}
		fmt.Printf("ok   %s: %d objects (%s)\n", name, len(objs), summarize(objs))
	}
	if failed {
		os.Exit(1)
	}
}

// ValidateFile decodes and checks one rendered overlay.
func ValidateFile(path string) ([]*Object, []string) {
	var r io.Reader = os.Stdin
	name := "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, []string{err.Error()}
		}
		defer f.Close()
		r = f
		name = path
	}
	return Validate(name, r)
}

// Validate decodes every document of a stream strictly and runs the semantic checks over all of them.
func Validate(name string, r io.Reader) ([]*Object, []string) {
	docs, err := SplitDocuments(r)
	if err != nil {
		return nil, []string{fmt.Sprintf("%s: %v", name, err)}
	}
	if len(docs) == 0 {
		return nil, []string{fmt.Sprintf("%s: no documents", name)}
	}
	var objs []*Object
	var errs []string
	for i, doc := range docs {
		obj, err := Decode(fmt.Sprintf("%s#%d", name, i+1), doc)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		objs = append(objs, obj)
	}
	errs = append(errs, Check(objs)...)
	return objs, errs
}

func summarize(objs []*Object) string {
	counts := map[string]int{}
	for _, o := range objs {
		counts[o.GVK.Kind]++
	}
	var parts []string
	for k, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
