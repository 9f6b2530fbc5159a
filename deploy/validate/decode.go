package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

// Object is one decoded manifest.
type Object struct {
	Source    string // file name (or "stdin") and document number, for messages
	GVK       schema.GroupVersionKind
	Name      string
	Namespace string
	Obj       any // pointer to the k8s.io/api type
}

func (o *Object) String() string {
	return fmt.Sprintf("%s %s/%s", o.Source, o.GVK.Kind, o.Name)
}

// The kinds a manifest of the mesh may have, with the k8s.io/api type each decodes into. Anything else is an error:
// an unknown kind or an outdated apiVersion (autoscaling/v1, policy/v1beta1, ...) is a mistake here, not an
// extension.
var kinds = map[schema.GroupVersionKind]func() any{
	{Group: "", Version: "v1", Kind: "Namespace"}:                            func() any { return &corev1.Namespace{} },
	{Group: "", Version: "v1", Kind: "ConfigMap"}:                            func() any { return &corev1.ConfigMap{} },
	{Group: "", Version: "v1", Kind: "Secret"}:                               func() any { return &corev1.Secret{} },
	{Group: "", Version: "v1", Kind: "Service"}:                              func() any { return &corev1.Service{} },
	{Group: "", Version: "v1", Kind: "ServiceAccount"}:                       func() any { return &corev1.ServiceAccount{} },
	{Group: "", Version: "v1", Kind: "PersistentVolumeClaim"}:                func() any { return &corev1.PersistentVolumeClaim{} },
	{Group: "apps", Version: "v1", Kind: "Deployment"}:                       func() any { return &appsv1.Deployment{} },
	{Group: "apps", Version: "v1", Kind: "StatefulSet"}:                      func() any { return &appsv1.StatefulSet{} },
	{Group: "batch", Version: "v1", Kind: "Job"}:                             func() any { return &batchv1.Job{} },
	{Group: "batch", Version: "v1", Kind: "CronJob"}:                         func() any { return &batchv1.CronJob{} },
	{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}:   func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"}:            func() any { return &policyv1.PodDisruptionBudget{} },
	{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}:       func() any { return &networkingv1.NetworkPolicy{} },
	{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"}:             func() any { return &networkingv1.Ingress{} },
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}:        func() any { return &rbacv1.Role{} },
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}: func() any { return &rbacv1.RoleBinding{} },
}

// clusterScoped kinds carry no namespace.
var clusterScoped = map[string]bool{"Namespace": true}

// SplitDocuments splits a multi-document YAML stream, dropping empty documents.
func SplitDocuments(r io.Reader) ([][]byte, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		docs = append(docs, doc)
	}
}

func stripComments(doc []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// Decode turns one YAML document into its k8s.io/api type, strictly: duplicate keys, unknown fields, fields with
// the wrong case and values of the wrong type are errors, as is a kind this validator does not know.
func Decode(source string, doc []byte) (*Object, error) {
	// YAMLToJSONStrict rejects duplicate keys
	js, err := sigsyaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", source, err)
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(js, &head); err != nil {
		return nil, fmt.Errorf("%s: not a Kubernetes object: %w", source, err)
	}
	if head.APIVersion == "" || head.Kind == "" {
		return nil, fmt.Errorf("%s: apiVersion and kind are required", source)
	}
	gv, err := schema.ParseGroupVersion(head.APIVersion)
	if err != nil {
		return nil, fmt.Errorf("%s: apiVersion %q: %w", source, head.APIVersion, err)
	}
	gvk := gv.WithKind(head.Kind)
	newObj, ok := kinds[gvk]
	if !ok {
		return nil, fmt.Errorf("%s: unknown or unsupported kind %s %s (known: %s)", source, head.APIVersion, head.Kind, knownKinds())
	}
	obj := newObj()
	// sigs.k8s.io/json is the decoder the API server uses: case-sensitive, and in strict mode it reports unknown
	// and duplicate fields
	strictErrs, err := sigsjson.UnmarshalStrict(js, obj, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
	if err != nil {
		return nil, fmt.Errorf("%s: %s %q: %w", source, head.Kind, head.Metadata.Name, err)
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, len(strictErrs))
		for i, e := range strictErrs {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("%s: %s %q: %s", source, head.Kind, head.Metadata.Name, strings.Join(msgs, "; "))
	}
	return &Object{Source: source, GVK: gvk, Name: head.Metadata.Name, Namespace: head.Metadata.Namespace, Obj: obj}, nil
}

func knownKinds() string {
	var names []string
	for gvk := range kinds {
		names = append(names, gvk.Kind)
	}
	sortStrings(names)
	return strings.Join(names, ", ")
}
