package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// workload is anything that runs pods: a Deployment, StatefulSet, Job or CronJob.
type workload struct {
	obj         *Object
	template    *corev1.PodTemplateSpec
	longRunning bool   // Deployment, StatefulSet: must have readiness and liveness probes
	replicas    *int32 // nil when unset (or not applicable)
}

func (w *workload) podLabels() labels.Set { return labels.Set(w.template.Labels) }

// checker holds every decoded object and collects errors.
type checker struct {
	objs      []*Object
	byKey     map[string]*Object
	workloads []*workload
	errs      []string
}

func key(kind, name string) string { return kind + "/" + name }

func (c *checker) errorf(o *Object, format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf("%s: %s", o, fmt.Sprintf(format, args...)))
}

func (c *checker) has(kind, name string) bool { _, ok := c.byKey[key(kind, name)]; return ok }

// Check runs the semantic checks over a set of objects that are applied together (one rendered overlay).
func Check(objs []*Object) []string {
	c := &checker{objs: objs, byKey: map[string]*Object{}}
	namespaces := map[string]bool{}
	for _, o := range objs {
		k := key(o.GVK.Kind, o.Name)
		if prev, dup := c.byKey[k]; dup {
			c.errorf(o, "duplicate object (also %s)", prev.Source)
		}
		c.byKey[k] = o
		if clusterScoped[o.GVK.Kind] {
			if o.Namespace != "" {
				c.errorf(o, "a %s has no namespace", o.GVK.Kind)
			}
		} else {
			namespaces[o.Namespace] = true
		}
		c.checkMeta(o)
		switch t := o.Obj.(type) {
		case *appsv1.Deployment:
			c.workloads = append(c.workloads, &workload{obj: o, template: &t.Spec.Template, longRunning: true, replicas: t.Spec.Replicas})
		case *appsv1.StatefulSet:
			c.workloads = append(c.workloads, &workload{obj: o, template: &t.Spec.Template, longRunning: true, replicas: t.Spec.Replicas})
		case *batchv1.Job:
			c.workloads = append(c.workloads, &workload{obj: o, template: &t.Spec.Template})
		case *batchv1.CronJob:
			c.workloads = append(c.workloads, &workload{obj: o, template: &t.Spec.JobTemplate.Spec.Template})
		}
	}
	if len(namespaces) > 1 {
		var ns []string
		for n := range namespaces {
			ns = append(ns, fmt.Sprintf("%q", n))
		}
		sortStrings(ns)
		c.errs = append(c.errs, fmt.Sprintf("namespaced objects are spread over several namespaces: %s", strings.Join(ns, ", ")))
	}
	for _, o := range objs {
		switch t := o.Obj.(type) {
		case *appsv1.Deployment:
			c.checkSelector(o, t.Spec.Selector, t.Spec.Template.Labels)
			if t.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType && t.Spec.Strategy.RollingUpdate != nil {
				c.errorf(o, "spec.strategy.rollingUpdate is set with type Recreate")
			}
		case *appsv1.StatefulSet:
			c.checkSelector(o, t.Spec.Selector, t.Spec.Template.Labels)
		case *batchv1.Job:
			if t.Spec.Selector != nil {
				c.checkSelector(o, t.Spec.Selector, t.Spec.Template.Labels)
			}
		case *corev1.Service:
			c.checkService(o, t)
		case *corev1.ConfigMap:
			for k := range t.Data {
				for _, msg := range validation.IsConfigMapKey(k) {
					c.errorf(o, "data key %q: %s", k, msg)
				}
			}
		case *corev1.PersistentVolumeClaim:
			if len(t.Spec.AccessModes) == 0 {
				c.errorf(o, "spec.accessModes is empty")
			}
			if _, ok := t.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
				c.errorf(o, "spec.resources.requests.storage is missing")
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			c.checkHPA(o, t)
		case *policyv1.PodDisruptionBudget:
			c.checkPDB(o, t)
		case *networkingv1.NetworkPolicy:
			c.checkNetworkPolicy(o, t)
		}
	}
	for _, w := range c.workloads {
		c.checkPodTemplate(w)
	}
	return c.errs
}

func (c *checker) checkMeta(o *Object) {
	var meta *metav1.ObjectMeta
	if m, ok := o.Obj.(metav1.ObjectMetaAccessor); ok {
		meta = m.GetObjectMeta().(*metav1.ObjectMeta)
	}
	if o.Name == "" {
		c.errorf(o, "metadata.name is required")
		return
	}
	nameErrs := validation.IsDNS1123Subdomain(o.Name)
	if o.GVK.Kind == "Service" || o.GVK.Kind == "Namespace" {
		// Service and Namespace names become DNS labels
		nameErrs = validation.IsDNS1123Label(o.Name)
	}
	for _, msg := range nameErrs {
		c.errorf(o, "metadata.name: %s", msg)
	}
	if meta != nil {
		for _, e := range metavalidation.ValidateLabels(meta.Labels, field.NewPath("metadata", "labels")) {
			c.errorf(o, "%s", e.Error())
		}
	}
}

// checkSelector: a workload's selector must be valid and select its own pod template.
func (c *checker) checkSelector(o *Object, sel *metav1.LabelSelector, tmplLabels map[string]string) {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		c.errorf(o, "spec.selector is missing or empty")
		return
	}
	s, ok := c.selector(o, "spec.selector", sel)
	if ok && !s.Matches(labels.Set(tmplLabels)) {
		c.errorf(o, "spec.selector %s does not match the pod template's labels %v", s, tmplLabels)
	}
}

func (c *checker) selector(o *Object, path string, sel *metav1.LabelSelector) (labels.Selector, bool) {
	if errs := metavalidation.ValidateLabelSelector(sel, metavalidation.LabelSelectorValidationOptions{}, field.NewPath(path)); len(errs) > 0 {
		for _, e := range errs {
			c.errorf(o, "%s", e.Error())
		}
		return nil, false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		c.errorf(o, "%s: %v", path, err)
		return nil, false
	}
	return s, true
}

// workloadsMatching returns the workloads whose pods a selector picks.
func (c *checker) workloadsMatching(s labels.Selector) []*workload {
	var out []*workload
	for _, w := range c.workloads {
		if s.Matches(w.podLabels()) {
			out = append(out, w)
		}
	}
	return out
}

// containerPort resolves a port (a number or a port name) against a pod's containers.
func containerPort(spec *corev1.PodSpec, port intstr.IntOrString, protocol corev1.Protocol) bool {
	if protocol == "" {
		protocol = corev1.ProtocolTCP
	}
	for _, ct := range spec.Containers {
		for _, p := range ct.Ports {
			pp := p.Protocol
			if pp == "" {
				pp = corev1.ProtocolTCP
			}
			if pp != protocol {
				continue
			}
			if port.Type == intstr.String && p.Name == port.StrVal {
				return true
			}
			if port.Type == intstr.Int && p.ContainerPort == port.IntVal {
				return true
			}
		}
	}
	return false
}

func (c *checker) checkService(o *Object, svc *corev1.Service) {
	headless := svc.Spec.ClusterIP == corev1.ClusterIPNone
	if headless && svc.Spec.Type != "" && svc.Spec.Type != corev1.ServiceTypeClusterIP {
		c.errorf(o, "a headless Service (clusterIP: None) must have type ClusterIP, not %s", svc.Spec.Type)
	}
	if len(svc.Spec.Ports) == 0 && !headless {
		c.errorf(o, "spec.ports is empty")
	}
	names := map[string]bool{}
	for i, p := range svc.Spec.Ports {
		if len(svc.Spec.Ports) > 1 && p.Name == "" {
			c.errorf(o, "spec.ports[%d].name is required when a Service has several ports", i)
		}
		if names[p.Name] {
			c.errorf(o, "spec.ports[%d].name %q is used twice", i, p.Name)
		}
		names[p.Name] = true
		for _, msg := range validation.IsValidPortNum(int(p.Port)) {
			c.errorf(o, "spec.ports[%d].port: %s", i, msg)
		}
	}
	if len(svc.Spec.Selector) == 0 {
		return // endpoints managed by hand
	}
	s := labels.SelectorFromSet(svc.Spec.Selector)
	matched := 0
	for _, w := range c.workloadsMatching(s) {
		if !w.longRunning {
			continue
		}
		matched++
		for i, p := range svc.Spec.Ports {
			target := p.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(p.Port)
			}
			if !containerPort(&w.template.Spec, target, p.Protocol) {
				c.errorf(o, "spec.ports[%d] (%s) targets port %s, which no container of %s declares", i, p.Name, target.String(), w.obj)
			}
		}
	}
	if matched == 0 {
		c.errorf(o, "spec.selector %v matches the pods of no Deployment or StatefulSet", svc.Spec.Selector)
	}
}

func (c *checker) checkHPA(o *Object, h *autoscalingv2.HorizontalPodAutoscaler) {
	ref := h.Spec.ScaleTargetRef
	var target *workload
	for _, w := range c.workloads {
		if w.longRunning && w.obj.GVK.Kind == ref.Kind && w.obj.Name == ref.Name && w.obj.GVK.GroupVersion().String() == ref.APIVersion {
			target = w
		}
	}
	if target == nil {
		c.errorf(o, "spec.scaleTargetRef %s %s/%s is not among the rendered objects", ref.APIVersion, ref.Kind, ref.Name)
	}
	minReplicas := int32(1)
	if h.Spec.MinReplicas != nil {
		minReplicas = *h.Spec.MinReplicas
	}
	if minReplicas < 1 {
		c.errorf(o, "spec.minReplicas must be at least 1")
	}
	if h.Spec.MaxReplicas < minReplicas {
		c.errorf(o, "spec.maxReplicas %d is below spec.minReplicas %d", h.Spec.MaxReplicas, minReplicas)
	}
	if len(h.Spec.Metrics) == 0 {
		c.errorf(o, "spec.metrics is empty")
	}
	if target == nil {
		return
	}
	if target.replicas != nil {
		c.errorf(o, "%s sets spec.replicas while this HPA scales it: every apply would reset the HPA's choice", target.obj)
	}
	for i, m := range h.Spec.Metrics {
		if m.Type != autoscalingv2.ResourceMetricSourceType || m.Resource == nil {
			continue
		}
		if m.Resource.Target.Type != autoscalingv2.UtilizationMetricType {
			continue
		}
		for _, ct := range target.template.Spec.Containers {
			if _, ok := ct.Resources.Requests[m.Resource.Name]; !ok {
				c.errorf(o, "spec.metrics[%d] scales on %s utilization, but container %q of %s requests no %s", i, m.Resource.Name, ct.Name, target.obj, m.Resource.Name)
			}
		}
	}
}

func (c *checker) checkPDB(o *Object, p *policyv1.PodDisruptionBudget) {
	if (p.Spec.MinAvailable == nil) == (p.Spec.MaxUnavailable == nil) {
		c.errorf(o, "set exactly one of spec.minAvailable and spec.maxUnavailable")
	}
	if p.Spec.Selector == nil {
		c.errorf(o, "spec.selector is missing")
		return
	}
	s, ok := c.selector(o, "spec.selector", p.Spec.Selector)
	if !ok {
		return
	}
	matched := c.workloadsMatching(s)
	if len(matched) == 0 {
		c.errorf(o, "spec.selector %s matches the pods of no workload", s)
	}
	// a budget that needs as many pods as there can be blocks every node drain
	if p.Spec.MinAvailable != nil && p.Spec.MinAvailable.Type == intstr.Int {
		for _, w := range matched {
			if n := c.minimumReplicas(w); n >= 0 && p.Spec.MinAvailable.IntVal >= n {
				c.errorf(o, "spec.minAvailable %d with at least %d replica(s) of %s blocks every voluntary eviction", p.Spec.MinAvailable.IntVal, n, w.obj)
			}
		}
	}
}

// minimumReplicas: the fewest replicas a workload may run (an HPA's minReplicas, else spec.replicas, default 1);
// -1 when not a long-running workload.
func (c *checker) minimumReplicas(w *workload) int32 {
	if !w.longRunning {
		return -1
	}
	for _, o := range c.objs {
		if h, ok := o.Obj.(*autoscalingv2.HorizontalPodAutoscaler); ok && h.Spec.ScaleTargetRef.Kind == w.obj.GVK.Kind && h.Spec.ScaleTargetRef.Name == w.obj.Name {
			if h.Spec.MinReplicas != nil {
				return *h.Spec.MinReplicas
			}
			return 1
		}
	}
	if w.replicas != nil {
		return *w.replicas
	}
	return 1
}

func (c *checker) checkNetworkPolicy(o *Object, np *networkingv1.NetworkPolicy) {
	s, ok := c.selector(o, "spec.podSelector", &np.Spec.PodSelector)
	if !ok {
		return
	}
	selected := c.workloadsMatching(s)
	if !s.Empty() && len(selected) == 0 {
		c.errorf(o, "spec.podSelector %s selects no pod of the rendered workloads", s)
	}
	for i, t := range np.Spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			c.errorf(o, "spec.policyTypes[%d] %q is neither Ingress nor Egress", i, t)
		}
	}
	if len(np.Spec.Egress) > 0 && !hasPolicyType(np, networkingv1.PolicyTypeEgress) {
		c.errorf(o, "spec.egress rules are ignored: spec.policyTypes lacks Egress")
	}
	for i, rule := range np.Spec.Ingress {
		c.checkPeers(o, fmt.Sprintf("spec.ingress[%d].from", i), rule.From)
		// the ports of an ingress rule are the selected pods' own ports
		if !s.Empty() {
			for j, p := range rule.Ports {
				c.checkPolicyPort(o, fmt.Sprintf("spec.ingress[%d].ports[%d]", i, j), p, selected)
			}
		}
	}
	for i, rule := range np.Spec.Egress {
		targets := c.checkPeers(o, fmt.Sprintf("spec.egress[%d].to", i), rule.To)
		// when every peer is a pod of this namespace, the ports must be theirs
		if targets != nil {
			for j, p := range rule.Ports {
				c.checkPolicyPort(o, fmt.Sprintf("spec.egress[%d].ports[%d]", i, j), p, targets)
			}
		}
	}
}

func hasPolicyType(np *networkingv1.NetworkPolicy, t networkingv1.PolicyType) bool {
	for _, pt := range np.Spec.PolicyTypes {
		if pt == t {
			return true
		}
	}
	return false
}

// checkPeers validates the peers of a rule. When all peers are pod selectors in this namespace it returns the
// workloads they pick (and reports selectors that pick nothing); otherwise nil.
func (c *checker) checkPeers(o *Object, path string, peers []networkingv1.NetworkPolicyPeer) []*workload {
	var targets []*workload
	local := len(peers) > 0
	for i, peer := range peers {
		p := fmt.Sprintf("%s[%d]", path, i)
		n := 0
		if peer.PodSelector != nil {
			n++
		}
		if peer.NamespaceSelector != nil {
			n++
		}
		if peer.IPBlock != nil {
			if n > 0 {
				c.errorf(o, "%s: ipBlock cannot be combined with podSelector or namespaceSelector", p)
			}
			n++
		}
		if n == 0 {
			c.errorf(o, "%s: a peer needs podSelector, namespaceSelector or ipBlock", p)
		}
		if peer.NamespaceSelector != nil {
			if _, ok := c.selector(o, p+".namespaceSelector", peer.NamespaceSelector); !ok {
				local = false
			}
		}
		if peer.IPBlock != nil || peer.NamespaceSelector != nil {
			local = false
		}
		if peer.PodSelector == nil {
			continue
		}
		s, ok := c.selector(o, p+".podSelector", peer.PodSelector)
		if !ok {
			local = false
			continue
		}
		if peer.NamespaceSelector == nil {
			matched := c.workloadsMatching(s)
			if !s.Empty() && len(matched) == 0 {
				c.errorf(o, "%s.podSelector %s selects no pod of the rendered workloads", p, s)
			}
			if s.Empty() {
				local = false
			}
			targets = append(targets, matched...)
		}
	}
	if !local {
		return nil
	}
	return targets
}

func (c *checker) checkPolicyPort(o *Object, path string, p networkingv1.NetworkPolicyPort, pods []*workload) {
	if p.Port == nil || len(pods) == 0 {
		return
	}
	protocol := corev1.ProtocolTCP
	if p.Protocol != nil {
		protocol = *p.Protocol
	}
	if p.EndPort != nil {
		return // a range
	}
	for _, w := range pods {
		if containerPort(&w.template.Spec, *p.Port, protocol) {
			return
		}
	}
	var names []string
	for _, w := range pods {
		names = append(names, w.obj.GVK.Kind+"/"+w.obj.Name)
	}
	c.errorf(o, "%s: port %s/%s is declared by no container of %s", path, protocol, p.Port.String(), strings.Join(names, ", "))
}

// checkPodTemplate: containers, ports, probes, resources, security context and the objects the pod refers to.
func (c *checker) checkPodTemplate(w *workload) {
	o := w.obj
	spec := &w.template.Spec
	if len(spec.Containers) == 0 {
		c.errorf(o, "the pod template has no containers")
	}
	if !w.longRunning && spec.RestartPolicy != corev1.RestartPolicyNever && spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		c.errorf(o, "a Job's pods need restartPolicy Never or OnFailure, not %q", spec.RestartPolicy)
	}
	volumes := map[string]*corev1.Volume{}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		if volumes[v.Name] != nil {
			c.errorf(o, "volume %q is declared twice", v.Name)
		}
		volumes[v.Name] = v
		switch {
		case v.PersistentVolumeClaim != nil:
			if !c.has("PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName) {
				c.errorf(o, "volume %q uses PersistentVolumeClaim %q, which is not rendered", v.Name, v.PersistentVolumeClaim.ClaimName)
			}
		case v.ConfigMap != nil:
			if !optional(v.ConfigMap.Optional) && !c.has("ConfigMap", v.ConfigMap.Name) {
				c.errorf(o, "volume %q uses ConfigMap %q, which is not rendered", v.Name, v.ConfigMap.Name)
			}
		case v.Secret != nil:
			if !optional(v.Secret.Optional) && !c.has("Secret", v.Secret.SecretName) {
				c.errorf(o, "volume %q uses Secret %q, which is not rendered", v.Name, v.Secret.SecretName)
			}
		}
	}
	podNonRoot := spec.SecurityContext != nil && spec.SecurityContext.RunAsNonRoot != nil && *spec.SecurityContext.RunAsNonRoot
	names := map[string]bool{}
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for i := range all {
		ct := &all[i]
		init := i < len(spec.InitContainers)
		where := fmt.Sprintf("container %q", ct.Name)
		if init {
			where = fmt.Sprintf("init container %q", ct.Name)
		}
		if names[ct.Name] {
			c.errorf(o, "%s: the name is used twice", where)
		}
		names[ct.Name] = true
		for _, msg := range validation.IsDNS1123Label(ct.Name) {
			c.errorf(o, "%s: name: %s", where, msg)
		}
		if ct.Image == "" {
			c.errorf(o, "%s: image is required", where)
		}
		portNames := map[string]bool{}
		for _, p := range ct.Ports {
			for _, msg := range validation.IsValidPortNum(int(p.ContainerPort)) {
				c.errorf(o, "%s: containerPort: %s", where, msg)
			}
			if p.Name != "" {
				for _, msg := range validation.IsValidPortName(p.Name) {
					c.errorf(o, "%s: port name %q: %s", where, p.Name, msg)
				}
				if portNames[p.Name] {
					c.errorf(o, "%s: port name %q is used twice", where, p.Name)
				}
				portNames[p.Name] = true
			}
		}
		c.checkProbe(o, where, "startupProbe", ct.StartupProbe, ct)
		c.checkProbe(o, where, "readinessProbe", ct.ReadinessProbe, ct)
		c.checkProbe(o, where, "livenessProbe", ct.LivenessProbe, ct)
		if w.longRunning && !init {
			if ct.ReadinessProbe == nil {
				c.errorf(o, "%s: readinessProbe is required", where)
			}
			if ct.LivenessProbe == nil {
				c.errorf(o, "%s: livenessProbe is required", where)
			}
		}
		if _, ok := ct.Resources.Requests[corev1.ResourceCPU]; !ok {
			c.errorf(o, "%s: resources.requests.cpu is required", where)
		}
		if _, ok := ct.Resources.Requests[corev1.ResourceMemory]; !ok {
			c.errorf(o, "%s: resources.requests.memory is required", where)
		}
		if _, ok := ct.Resources.Limits[corev1.ResourceMemory]; !ok {
			c.errorf(o, "%s: resources.limits.memory is required", where)
		}
		for name, req := range ct.Resources.Requests {
			if lim, ok := ct.Resources.Limits[name]; ok && req.Cmp(lim) > 0 {
				c.errorf(o, "%s: resources.requests.%s %s exceeds its limit %s", where, name, req.String(), lim.String())
			}
		}
		// extended resources such as nvidia.com/gpu cannot be overcommitted: request == limit
		for name, lim := range ct.Resources.Limits {
			if strings.Contains(string(name), "/") && !strings.HasPrefix(string(name), "kubernetes.io/") {
				if req, ok := ct.Resources.Requests[name]; ok && req.Cmp(lim) != 0 {
					c.errorf(o, "%s: extended resource %s must request what it limits", where, name)
				}
			}
		}
		sc := ct.SecurityContext
		nonRoot := podNonRoot || (sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot)
		if sc != nil && sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
			nonRoot = false
		}
		if !nonRoot {
			c.errorf(o, "%s: runAsNonRoot must be true (pod or container securityContext)", where)
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			c.errorf(o, "%s: securityContext.allowPrivilegeEscalation must be false", where)
		}
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			c.errorf(o, "%s: securityContext.readOnlyRootFilesystem must be true (mount an emptyDir where it writes)", where)
		}
		// the namespace enforces the "restricted" Pod Security Standard; these two are the checks it adds
		if !dropsAll(sc) {
			c.errorf(o, "%s: securityContext.capabilities.drop must contain ALL", where)
		}
		if !seccompSet(spec.SecurityContext, sc) {
			c.errorf(o, "%s: a seccompProfile (RuntimeDefault or Localhost) is required on the pod or the container", where)
		}
		for _, m := range ct.VolumeMounts {
			if volumes[m.Name] == nil {
				c.errorf(o, "%s: volumeMount %q has no matching volume", where, m.Name)
			}
		}
		for _, ef := range ct.EnvFrom {
			if ef.ConfigMapRef != nil && !optional(ef.ConfigMapRef.Optional) && !c.has("ConfigMap", ef.ConfigMapRef.Name) {
				c.errorf(o, "%s: envFrom ConfigMap %q is not rendered", where, ef.ConfigMapRef.Name)
			}
			if ef.SecretRef != nil && !optional(ef.SecretRef.Optional) && !c.has("Secret", ef.SecretRef.Name) {
				c.errorf(o, "%s: envFrom Secret %q is not rendered", where, ef.SecretRef.Name)
			}
		}
		if w.longRunning && !init {
			c.checkShutdownGrace(w, ct, where)
		}
		for _, e := range ct.Env {
			for _, msg := range validation.IsEnvVarName(e.Name) {
				c.errorf(o, "%s: env %q: %s", where, e.Name, msg)
			}
			if e.ValueFrom == nil || e.ValueFrom.ConfigMapKeyRef == nil || optional(e.ValueFrom.ConfigMapKeyRef.Optional) {
				continue
			}
			ref := e.ValueFrom.ConfigMapKeyRef
			cm, ok := c.byKey[key("ConfigMap", ref.Name)]
			if !ok {
				c.errorf(o, "%s: env %q refers to ConfigMap %q, which is not rendered", where, e.Name, ref.Name)
			} else if _, ok := cm.Obj.(*corev1.ConfigMap).Data[ref.Key]; !ok {
				c.errorf(o, "%s: env %q refers to key %q, which ConfigMap %q lacks", where, e.Name, ref.Key, ref.Name)
			}
		}
	}
}

func optional(b *bool) bool { return b != nil && *b }

func dropsAll(sc *corev1.SecurityContext) bool {
	if sc == nil || sc.Capabilities == nil {
		return false
	}
	for _, c := range sc.Capabilities.Drop {
		if c == "ALL" {
			return true
		}
	}
	return false
}

func seccompSet(pod *corev1.PodSecurityContext, ct *corev1.SecurityContext) bool {
	ok := func(p *corev1.SeccompProfile) bool {
		return p != nil && (p.Type == corev1.SeccompProfileTypeRuntimeDefault || p.Type == corev1.SeccompProfileTypeLocalhost)
	}
	if ct != nil && ct.SeccompProfile != nil {
		return ok(ct.SeccompProfile)
	}
	return pod != nil && ok(pod.SeccompProfile)
}

// checkProbe: exactly one handler, and the port it probes is one the container declares.
func (c *checker) checkProbe(o *Object, where, name string, p *corev1.Probe, ct *corev1.Container) {
	if p == nil {
		return
	}
	handlers := 0
	one := &corev1.PodSpec{Containers: []corev1.Container{*ct}}
	if p.Exec != nil {
		handlers++
	}
	if p.GRPC != nil {
		handlers++
		if !containerPort(one, intstr.FromInt32(p.GRPC.Port), corev1.ProtocolTCP) {
			c.errorf(o, "%s: %s.grpc.port %d is not a port of the container", where, name, p.GRPC.Port)
		}
	}
	if p.HTTPGet != nil {
		handlers++
		if !containerPort(one, p.HTTPGet.Port, corev1.ProtocolTCP) {
			c.errorf(o, "%s: %s.httpGet.port %s is not a port of the container", where, name, p.HTTPGet.Port.String())
		}
	}
	if p.TCPSocket != nil {
		handlers++
		if !containerPort(one, p.TCPSocket.Port, corev1.ProtocolTCP) {
			c.errorf(o, "%s: %s.tcpSocket.port %s is not a port of the container", where, name, p.TCPSocket.Port.String())
		}
	}
	if handlers != 1 {
		c.errorf(o, "%s: %s needs exactly one of exec, grpc, httpGet, tcpSocket (has %d)", where, name, handlers)
	}
	if name == "livenessProbe" || name == "startupProbe" {
		if p.SuccessThreshold > 1 {
			c.errorf(o, "%s: %s.successThreshold must be 1", where, name)
		}
	}
}

func sortStrings(s []string) { sort.Strings(s) }

// checkShutdownGrace: a service drains on SIGTERM for STEERING_SHUTDOWN_GRACE_SECONDS (from its env or envFrom
// ConfigMaps); Kubernetes kills the container terminationGracePeriodSeconds after it starts stopping the pod, which
// includes the preStop sleep. The drain must end before that (with 5 s to spare), or running calls are cut.
func (c *checker) checkShutdownGrace(w *workload, ct *corev1.Container, where string) {
	const name = "STEERING_SHUTDOWN_GRACE_SECONDS"
	value, set := "", false
	for _, ef := range ct.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		if cm, ok := c.byKey[key("ConfigMap", ef.ConfigMapRef.Name)]; ok {
			if v, ok := cm.Obj.(*corev1.ConfigMap).Data[name]; ok {
				value, set = v, true
			}
		}
	}
	for _, e := range ct.Env {
		if e.Name == name && e.ValueFrom == nil {
			value, set = e.Value, true
		}
	}
	if !set {
		return
	}
	grace, err := strconv.ParseInt(value, 10, 64)
	if err != nil || grace < 0 {
		c.errorf(w.obj, "%s: %s=%q is not a whole number of seconds >= 0", where, name, value)
		return
	}
	var preStop int64
	if ct.Lifecycle != nil && ct.Lifecycle.PreStop != nil && ct.Lifecycle.PreStop.Sleep != nil {
		preStop = ct.Lifecycle.PreStop.Sleep.Seconds
	}
	period := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if w.template.Spec.TerminationGracePeriodSeconds != nil {
		period = *w.template.Spec.TerminationGracePeriodSeconds
	}
	if preStop+grace+5 > period {
		c.errorf(w.obj, "%s: preStop sleep %d s + %s %d s + 5 s exceed terminationGracePeriodSeconds %d: running calls would be killed",
			where, preStop, name, grace, period)
	}
}
