package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func validateString(t *testing.T, name, manifests string) []string {
	t.Helper()
	_, errs := Validate(name, strings.NewReader(manifests))
	return errs
}

func TestGoodFixturePasses(t *testing.T) {
	good, err := os.ReadFile("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if errs := validateString(t, "good.yaml", string(good)); len(errs) > 0 {
		t.Fatalf("the valid fixture was rejected:\n%s", strings.Join(errs, "\n"))
	}
}

// Each case breaks testdata/good.yaml in one place (replacing the first occurrence of `old` by `new`) and names a
// piece of the error message the validator must give.
func TestBrokenManifestsAreRejected(t *testing.T) {
	good, err := os.ReadFile("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, old, new, want string
	}{
		// strict decoding
		{"unknown field", "  minReplicas: 2", "  minReplica: 2", `unknown field "spec.minReplica"`},
		{"unknown nested field", "          readinessProbe:\n", "          readinessProbe:\n            grpcPort: 50051\n", `unknown field "spec.template.spec.containers[0].readinessProbe.grpcPort"`},
		{"field with the wrong case", "  maxReplicas: 4", "  MaxReplicas: 4", `unknown field "spec.MaxReplicas"`},
		{"wrong type: string for an integer", "  maxReplicas: 4", `  maxReplicas: "four"`, "cannot unmarshal string"},
		{"wrong type: list for a map", "  DEMO_PORT: \"50051\"", "  - DEMO_PORT", "cannot unmarshal array"},
		{"wrong type: map for a string", "          image: example/demo:1.0", "          image: {name: demo}", "cannot unmarshal object"},
		{"bad quantity", "              memory: 128Mi", "              memory: lots", "quantities must match"},
		{"duplicate key", "  minReplicas: 2", "  minReplicas: 2\n  minReplicas: 3", "duplicate"},
		{"unknown kind", "kind: PodDisruptionBudget", "kind: PodDisruptionBudgte", "unknown or unsupported kind"},
		{"outdated apiVersion", "apiVersion: autoscaling/v2", "apiVersion: autoscaling/v1", "unknown or unsupported kind"},
		{"missing kind", "kind: ConfigMap\n", "", "apiVersion and kind are required"},
		// semantic checks
		{"service selector matches no pods", "  selector:\n    app.kubernetes.io/name: demo", "  selector:\n    app.kubernetes.io/name: dmeo", "matches the pods of no Deployment"},
		{"deployment selector misses its template", "    matchLabels:\n      app.kubernetes.io/name: demo\n  template", "    matchLabels:\n      app.kubernetes.io/name: other\n  template", "does not match the pod template's labels"},
		{"service targets an undeclared port", "      targetPort: grpc", "      targetPort: grpcs", "targets port grpcs"},
		{"probe on a port the container lacks", "          readinessProbe:\n            grpc:\n              port: 50051", "          readinessProbe:\n            grpc:\n              port: 50099", "readinessProbe.grpc.port 50099 is not a port of the container"},
		{"missing liveness probe", "          livenessProbe:\n            grpc:\n              port: 50051\n", "", "livenessProbe is required"},
		{"unrendered PVC", "            claimName: demo-data", "            claimName: demo-date", `PersistentVolumeClaim "demo-date", which is not rendered`},
		{"unrendered ConfigMap", "                name: demo-config", "                name: demo-conf", `ConfigMap "demo-conf" is not rendered`},
		{"HPA target missing", "    name: demo\n  minReplicas", "    name: dem\n  minReplicas", "is not among the rendered objects"},
		{"HPA min above max", "  maxReplicas: 4", "  maxReplicas: 1", "below spec.minReplicas"},
		{"HPA fights spec.replicas", "spec:\n  selector:", "spec:\n  replicas: 3\n  selector:", "sets spec.replicas while this HPA scales it"},
		{"PDB blocks every drain", "  minAvailable: 1", "  minAvailable: 2", "blocks every voluntary eviction"},
		{"network policy port not exposed", "        - protocol: TCP\n          port: 50051", "        - protocol: TCP\n          port: 50052", "port TCP/50052 is declared by no container"},
		{"network policy peer selects nothing", "        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: demo", "        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: gatewya", "selects no pod"},
		{"root allowed", "        runAsNonRoot: true", "        runAsNonRoot: false", "runAsNonRoot must be true"},
		{"writable root filesystem", "            readOnlyRootFilesystem: true", "            readOnlyRootFilesystem: false", "readOnlyRootFilesystem must be true"},
		{"capabilities kept", "              drop: [\"ALL\"]", "              drop: [\"NET_RAW\"]", "capabilities.drop must contain ALL"},
		{"no seccomp profile", "          type: RuntimeDefault", "          type: Unconfined", "seccompProfile"},
		{"no memory limit", "            limits:\n              memory: 256Mi", "            limits:\n              cpu: \"1\"", "resources.limits.memory is required"},
		{"invalid port name", "            - name: http\n", "            - name: http-port-name-too-long\n", "port name"},
		{"invalid object name", "  name: demo-config\n", "  name: Demo_Config\n", "metadata.name"},
		{"drain longer than the grace period", "              value: \"20\"", "              value: \"40\"", "exceed terminationGracePeriodSeconds 30"},
		{"drain not a number", "              value: \"20\"", "              value: \"20s\"", "is not a whole number of seconds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(good, []byte(tc.old)) {
				t.Fatalf("the fixture does not contain %q", tc.old)
			}
			broken := strings.Replace(string(good), tc.old, tc.new, 1)
			errs := validateString(t, tc.name, broken)
			if len(errs) == 0 {
				t.Fatalf("accepted a broken manifest (%q -> %q)", tc.old, tc.new)
			}
			all := strings.Join(errs, "\n")
			if !strings.Contains(all, tc.want) {
				t.Fatalf("rejected, but without %q:\n%s", tc.want, all)
			}
		})
	}
}

func TestEmptyInputIsRejected(t *testing.T) {
	if errs := validateString(t, "empty", "# nothing\n---\n"); len(errs) == 0 {
		t.Fatal("an empty stream was accepted")
	}
}

// The real overlays, rendered in-process with the kustomize library that the kustomize CLI in run.sh is built
// from, must pass.
func TestOverlaysPass(t *testing.T) {
	for _, overlay := range []string{"cpu", "gpu"} {
		t.Run(overlay, func(t *testing.T) {
			dir, err := filepath.Abs(filepath.Join("..", "k8s", "overlays", overlay))
			if err != nil {
				t.Fatal(err)
			}
			resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
			if err != nil {
				t.Fatalf("kustomize build %s: %v", overlay, err)
			}
			rendered, err := resources.AsYaml()
			if err != nil {
				t.Fatal(err)
			}
			objs, errs := Validate(overlay, bytes.NewReader(rendered))
			if len(errs) > 0 {
				t.Fatalf("overlay %s rejected:\n%s", overlay, strings.Join(errs, "\n"))
			}
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.GVK.Kind]++
			}
			for kind, n := range map[string]int{"Deployment": 4, "HorizontalPodAutoscaler": 2, "PodDisruptionBudget": 4, "Job": 1} {
				if kinds[kind] != n {
					t.Errorf("overlay %s renders %d %s, want %d", overlay, kinds[kind], kind, n)
				}
			}
			if kinds["NetworkPolicy"] < 6 {
				t.Errorf("overlay %s renders only %d NetworkPolicies", overlay, kinds["NetworkPolicy"])
			}
		})
	}
}
