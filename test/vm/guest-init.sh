#!/bin/sh
# Second stage of the cgroup-v2 VM (PID 1 after switch_root into the overlay of the host's root):
# makes the guest look like a cgroup-v2-only systemd host, runs /vmwork/run.sh (written by the host
# test: jest on the chosen files) inside a delegated service cgroup, reports, powers off.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
HOME=/root
export PATH HOME
bail() {
  echo "berth-vm: stage 2: $*"
  echo "BERTH-VM-EXIT 91"
  busybox poweroff -f
}
mount -t proc proc /proc || bail proc
mount -t sysfs sysfs /sys || bail sysfs
# Only the unified hierarchy (the kernel also boots with cgroup_no_v1=all), as systemd mounts it.
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup || bail cgroup2
mount -t devtmpfs devtmpfs /dev || bail devtmpfs
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts && ln -sf pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue
# /tmp on ext4 (the scratch disk), as on most hosts: tmpfs before Linux 6.3 has no idmapped mounts.
mkfs.ext4 -q -F -O ^has_journal /dev/vda || bail "mkfs /dev/vda"
mount -t ext4 /dev/vda /tmp || bail "mount /tmp"
chmod 1777 /tmp
for d in /run /var/tmp; do mount -t tmpfs -o mode=1777 tmpfs $d || bail "tmpfs $d"; done
chmod 755 /run
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
ip link set lo up 2>/dev/null
hostname berth-vm

# The layout systemd gives a service with Delegate=yes: controllers enabled down to
# /system.slice, the service's own cgroup delegated, the test runner a process in it.
echo "+cpuset +cpu +io +memory +pids" > /sys/fs/cgroup/cgroup.subtree_control || bail "root subtree_control"
mkdir -p /sys/fs/cgroup/system.slice/berth-vm.service
echo "+cpuset +cpu +io +memory +pids" > /sys/fs/cgroup/system.slice/cgroup.subtree_control || bail "system.slice subtree_control"
echo $$ > /sys/fs/cgroup/system.slice/berth-vm.service/cgroup.procs || bail "join the service cgroup"

echo "berth-vm: up after $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r), cgroup $(stat -fc %T /sys/fs/cgroup), controllers: $(cat /sys/fs/cgroup/system.slice/berth-vm.service/cgroup.controllers)"
sh /vmwork/run.sh
status=$?
sync
echo "BERTH-VM-EXIT $status"
busybox poweroff -f
