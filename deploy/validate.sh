#!/usr/bin/env bash
# Renders every kustomization under deploy/kubernetes (the base and each overlay) with
# `kubectl kustomize` and validates every object against the Kubernetes OpenAPI schemas with
# kubernetes-validate in strict mode (unknown fields are errors), for each Kubernetes version in
# K8S_VERSIONS. Then checks what the schemas cannot see: WHIRL_CONTROLLERS equals the controller
# replicas, and the invoker container's memory limit holds user_memory_mb plus the invoker.
# Exits non-zero on the first failure.
#
#   deploy/validate.sh                  # needs kubectl and kubernetes-validate (pip)
#   K8S_VERSIONS="1.33.0" KUBECTL=/path/to/kubectl deploy/validate.sh
#
# The manifests need Kubernetes 1.30 or later (securityContext.appArmorProfile); they are
# validated against the oldest and the newest version below.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
KUBECTL=${KUBECTL:-kubectl}
K8S_VERSIONS=${K8S_VERSIONS:-"1.30.0 1.37.0"}
# Memory the invoker itself needs beside its actions (MiB); see invoker.yaml.
INVOKER_OVERHEAD_MIB=512

die() {
    echo "validate.sh: $*" >&2
    exit 1
}

command -v "$KUBECTL" >/dev/null ||
    die "kubectl not found (Debian: apt-get install kubernetes-client)"
# The console script, or the module where the script is not on PATH (a pyenv without rehash).
if command -v kubernetes-validate >/dev/null; then
    validate=(kubernetes-validate)
elif python3 -c 'import kubernetes_validate' 2>/dev/null; then
    validate=(python3 -m kubernetes_validate)
else
    die "kubernetes-validate not found (pip install kubernetes-validate)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# kubectl before 1.21 embeds kustomize 2.0.3, which takes directories only under `bases:` and
# patches only as `patchesStrategicMerge:`. The manifests use today's fields (`resources:` for
# directories too, `patches:`), which newer kubectl renders without deprecation warnings; for an
# old kubectl, render a copy with the old fields (same objects).
root=$here/kubernetes
minor=$("$KUBECTL" version --client -o json 2>/dev/null |
    python3 -c 'import json,sys; print(int(json.load(sys.stdin)["clientVersion"]["minor"].rstrip("+")))' ||
    echo 0)
if [ "$minor" -lt 21 ]; then
    echo "kubectl 1.$minor embeds kustomize 2.0.3: rendering a copy with bases:/patchesStrategicMerge:"
    cp -r "$root" "$work/kubernetes"
    root=$work/kubernetes
    find "$root" -name kustomization.yaml -print0 | xargs -0 python3 -c '
import os, sys, yaml
for path in sys.argv[1:]:
    d = os.path.dirname(path)
    k = yaml.safe_load(open(path))
    res = k.get("resources", [])
    k["resources"] = [r for r in res if not os.path.isdir(os.path.join(d, r))]
    bases = [r for r in res if os.path.isdir(os.path.join(d, r))]
    if bases:
        k["bases"] = bases
    smp = []
    for i, p in enumerate(k.pop("patches", [])):
        if p.get("target") or p.get("options"):
            sys.exit(f"{path}: patches with target or options need kustomize 3 or later")
        if "path" in p:
            smp.append(p["path"])
        else:
            name = f"legacy-patch-{i}.yaml"
            open(os.path.join(d, name), "w").write(p["patch"])
            smp.append(name)
    if smp:
        k["patchesStrategicMerge"] = smp
    for g in k.get("secretGenerator", []) + k.get("configMapGenerator", []):
        if "envs" in g:
            g["env"] = g.pop("envs")[0]
    k.pop("apiVersion", None)
    k.pop("kind", None)
    yaml.safe_dump(k, open(path, "w"), sort_keys=False)
'
fi

# The whirl-specific checks on one rendered kustomization.
check_whirl() {
    python3 - "$1" "$INVOKER_OVERHEAD_MIB" <<'EOF'
import sys, tomllib, yaml

path, overhead = sys.argv[1], int(sys.argv[2])
objs = [o for o in yaml.safe_load_all(open(path)) if o]
def find(kind, name):
    return next((o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name), None)
def container(sts, name):
    return next(c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == name)
def mebibytes(q):
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024**2, "K": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    for u, f in units.items():
        if q.endswith(u):
            return float(q[: -len(u)]) * f
    return float(q) / 2**20
errors = []
ctl = find("StatefulSet", "whirl-controller")
if ctl:
    env = {e["name"]: e.get("value") for e in container(ctl, "controller").get("env", [])}
    if env.get("WHIRL_CONTROLLERS") != str(ctl["spec"].get("replicas", 1)):
        errors.append(f"whirl-controller: replicas {ctl['spec'].get('replicas', 1)} but "
                      f"WHIRL_CONTROLLERS {env.get('WHIRL_CONTROLLERS')!r} (keep them equal)")
inv = find("StatefulSet", "whirl-invoker")
if inv:
    cfg_name = next(v["configMap"]["name"] for v in inv["spec"]["template"]["spec"]["volumes"] if v["name"] == "config")
    cm = find("ConfigMap", cfg_name)
    user_mb = tomllib.loads(cm["data"]["invoker.toml"]).get("user_memory_mb", 4096)
    limit = container(inv, "invoker").get("resources", {}).get("limits", {}).get("memory")
    if limit is None or mebibytes(limit) < user_mb + overhead:
        errors.append(f"whirl-invoker: memory limit {limit} is below user_memory_mb {user_mb} "
                      f"+ {overhead}Mi for the invoker (its actions' cgroups are inside it)")
for e in errors:
    print(f"ERROR {path}: {e}", file=sys.stderr)
sys.exit(1 if errors else 0)
EOF
}

count=0
while IFS= read -r -d '' kfile; do
    dir=$(dirname "$kfile")
    rel=${dir#"$root"/}
    out=$work/$(echo "$rel" | tr / _).yaml
    echo "== $rel"
    "$KUBECTL" kustomize "$dir" >"$out" || die "$rel: kubectl kustomize failed"
    [ -s "$out" ] || die "$rel: rendered nothing"
    for v in $K8S_VERSIONS; do
        "${validate[@]}" --strict --quiet --kubernetes-version "$v" "$out" ||
            die "$rel: objects do not validate against Kubernetes $v"
    done
    check_whirl "$out" || die "$rel: whirl checks failed"
    echo "   $(grep -c '^kind:' "$out") objects valid for Kubernetes ${K8S_VERSIONS// /, }"
    count=$((count + 1))
done < <(find "$root" -name kustomization.yaml -not -path '*/.*' -print0 | sort -z)

[ "$count" -gt 0 ] || die "no kustomization found under $root"

# The start scripts, when shellcheck is there (not required).
if command -v shellcheck >/dev/null; then
    shellcheck "$here"/kubernetes/base/scripts/*.sh || die "shellcheck found problems in the scripts"
fi

echo "validate.sh: $count kustomizations rendered and valid"
