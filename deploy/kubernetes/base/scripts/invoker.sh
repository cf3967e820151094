#!/bin/sh
# Starts `whirl invoker` in a pod of the whirl-invoker StatefulSet (deploy/kubernetes/base). Runs
# as root with the capabilities invoker.yaml grants, then execs whirl (which becomes pid 1).
#
# 1. invoker_id is the pod's ordinal: whirl-invoker-3 runs as invoker 3.
# 2. cgroups. whirl creates one cgroup per sandbox under the cgroup mount it finds
#    (/sys/fs/cgroup), which the container runtime mounts read-only. This remounts it writable,
#    rooted at this container's own cgroup, so every sandbox is a child of the container's
#    cgroup: counted against the pod's limits, seen by the kubelet, removed with the pod, and
#    never touching another pod's cgroups. No hostPath is needed, and it works where the
#    container has its own cgroup namespace (cgroup v2), where a write under the node's root
#    cgroup would be refused. On cgroup v2 this shell first moves into a leaf ("invoker"): a
#    cgroup that holds processes cannot hand controllers to child cgroups.
# 3. IP forwarding. The action network (action_network = "egress") routes between the
#    sandboxes' bridge and the pod's interface, which needs forwarding on in the pod's own network
#    namespace. The pod's /proc/sys is read-only, so it is set through a private procfs mount.
#    Only this pod's network namespace changes; with action_network = "none" it is unused.
set -eu

log() { echo "invoker.sh: $*" >&2; }

name=$(cat /proc/sys/kernel/hostname)
ordinal=${name##*-}
case $ordinal in
'' | *[!0-9]*)
    log "cannot take a StatefulSet ordinal from the host name '$name'"
    exit 1
    ;;
esac

scratch=/run/whirl/mnt
mkdir -p "$scratch"

if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    # cgroup v2. Our cgroup as the kernel names it from our cgroup namespace: "/" in a private
    # namespace, the full path when the pod shares the node's.
    own=$(sed -n 's/^0:://p' /proc/self/cgroup)
    mount -t cgroup2 -o rw,nosuid,nodev,noexec cgroup2 "$scratch"
    mount --bind "$scratch${own%/}" /sys/fs/cgroup
    umount "$scratch"
    mkdir -p /sys/fs/cgroup/invoker
    while read -r pid; do
        echo "$pid" >/sys/fs/cgroup/invoker/cgroup.procs 2>/dev/null || true
    done </sys/fs/cgroup/cgroup.procs
    enable=""
    for c in memory pids cpu; do
        if grep -qw "$c" /sys/fs/cgroup/cgroup.controllers; then enable="$enable +$c"; fi
    done
    if ! echo "$enable" >/sys/fs/cgroup/cgroup.subtree_control; then
        log "cannot enable the cgroup controllers ($enable) for the sandboxes"
        exit 1
    fi
    log "cgroup v2: sandboxes go under the container's cgroup ($own), controllers$enable"
else
    # cgroup v1: each hierarchy is a read-only bind of this container's cgroup in it.
    awk '$3 == "cgroup" { print $2 }' /proc/self/mounts | while read -r mp; do
        mount -o remount,bind,rw "$mp"
    done
    log "cgroup v1: the container's cgroups are writable"
fi

mount -t proc -o nosuid,nodev,noexec proc "$scratch"
echo 1 >"$scratch/sys/net/ipv4/ip_forward"
if [ -e "$scratch/sys/net/ipv6/conf/all/forwarding" ] &&
    [ "$(cat "$scratch/sys/net/ipv6/conf/all/disable_ipv6")" = 0 ]; then
    echo 1 >"$scratch/sys/net/ipv6/conf/all/forwarding"
fi
umount "$scratch"

log "starting invoker $ordinal"
exec whirl invoker --config /etc/whirl/invoker.toml --invoker-id "$ordinal" "$@"
