/* Escape family: the primitives container escapes and evasion are built from. Namespaces created
 * or joined (unshare, clone/clone3 with CLONE_NEW*, setns), mount and pivot_root, capset, a
 * process renaming itself (prctl PR_SET_NAME), memfd_create, io_uring rings and the opcodes they
 * run, and writes of a cgroup v1 release_agent.
 *
 * Tracepoints only (syscall entry/exit and the io_uring events), and each filters in the kernel:
 * clone without a CLONE_NEW* flag, thread renames, propagation-only mounts, repeated io_uring
 * opcodes and opens of anything but a release_agent for writing never reach the ring. */
#include "aurora.h"
#include "escape.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* mount and pivot_root are sent on return, with their result: the arguments wait here, by
 * thread, between the entry and the exit of the call. LRU: an entry whose exit never came (the
 * thread was killed in the call) is evicted instead of filling the map. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct mount_event);
} pending_mounts SEC(".maps");

/* A release_agent open in flight, by thread: its flags, until the descriptor exists. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} pending_opens SEC(".maps");

/* (ring, opcode) pairs already reported: a busy ring submits millions of requests, and which
 * operations it runs is what matters. LRU, so a long-lived ring is at worst reported again. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ring_op);
	__type(value, __u8);
} seen_ring_ops SEC(".maps");

struct scratch {
	struct release_agent_event ev;
	char slack[EXEC_PATH_MAX * 2 + NAME_CHUNK];
	struct path_walk walk;
	struct memfd_event memfd;
	char name[NAME_CHUNK];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

enum {
	SLOT_NS,
	SLOT_MOUNT,
	SLOT_CAPSET,
	SLOT_RENAME,
	SLOT_MEMFD,
	SLOT_IOURING,
	SLOT_RELEASE_AGENT,
	SLOT_PENDING_FULL,
};

/* Keep the record types in the object's BTF for the layout test. */
struct ns_event _ns_event = {};
struct capset_event _capset_event = {};
struct rename_event _rename_event = {};
struct iouring_event _iouring_event = {};

static __always_inline void ns_emit(__u32 op, __u64 flags)
{
	struct ns_event e = {};
	fill_hdr(&e.hdr, EV_NS);
	e.op = op;
	e.flags = flags;
	e.fd = -1;
	EMIT(events, SLOT_NS, &e, sizeof(e));
}

SEC("tp/syscalls/sys_enter_unshare")
int handle_unshare(struct trace_event_raw_sys_enter *ctx)
{
	__u64 flags = ctx->args[0];
	if (flags & (CLONE_NEW_MASK | CLONE_NEWTIME))
		ns_emit(NS_OP_UNSHARE, flags);
	return 0;
}

/* Every fork passes here; the flag test is all an ordinary fork costs. */
SEC("tp/syscalls/sys_enter_clone")
int handle_clone(struct trace_event_raw_sys_enter *ctx)
{
	__u64 flags = ctx->args[0];
	if (flags & CLONE_NEW_MASK)
		ns_emit(NS_OP_CLONE, flags);
	return 0;
}

/* clone3 passes its flags in a user struct whose first member they are. */
SEC("tp/syscalls/sys_enter_clone3")
int handle_clone3(struct trace_event_raw_sys_enter *ctx)
{
	__u64 flags = 0;
	if (bpf_probe_read_user(&flags, sizeof(flags), (void *)ctx->args[0]))
		return 0;
	if (flags & (CLONE_NEW_MASK | CLONE_NEWTIME))
		ns_emit(NS_OP_CLONE3, flags);
	return 0;
}

static __always_inline __u32 ns_type_of(struct ns_common *ns)
{
	if (bpf_core_field_exists(ns->ns_type))
		return BPF_CORE_READ(ns, ns_type);
	struct proc_ns_operations___old *ops = (void *)BPF_CORE_READ(ns, ops);
	return BPF_CORE_READ(ops, type);
}

/* The caller's own namespace of one type: what setns is about to leave. */
static __always_inline __u32 own_ns_inum(__u32 type)
{
	struct task_struct *t = current_task();
	struct nsproxy *nsp = BPF_CORE_READ(t, nsproxy);
	switch (type) {
	case CLONE_NEWNS:
		return BPF_CORE_READ(nsp, mnt_ns, ns.inum);
	case CLONE_NEWCGROUP:
		return BPF_CORE_READ(nsp, cgroup_ns, ns.inum);
	case CLONE_NEWUTS:
		return BPF_CORE_READ(nsp, uts_ns, ns.inum);
	case CLONE_NEWIPC:
		return BPF_CORE_READ(nsp, ipc_ns, ns.inum);
	case CLONE_NEWUSER:
		return BPF_CORE_READ(t, cred, user_ns, ns.inum);
	case CLONE_NEWPID:
		return BPF_CORE_READ(nsp, pid_ns_for_children, ns.inum);
	case CLONE_NEWNET:
		return BPF_CORE_READ(nsp, net_ns, ns.inum);
	case CLONE_NEWTIME:
		return BPF_CORE_READ(nsp, time_ns, ns.inum);
	}
	return 0;
}

SEC("tp/syscalls/sys_enter_setns")
int handle_setns(struct trace_event_raw_sys_enter *ctx)
{
	struct ns_event e = {};
	fill_hdr(&e.hdr, EV_NS);
	e.op = NS_OP_SETNS;
	e.fd = ctx->args[0];
	e.flags = ctx->args[1];
	struct file *f = fd_file(e.fd);
	if (f) {
		struct inode *ino = BPF_CORE_READ(f, f_inode);
		unsigned long magic = BPF_CORE_READ(ino, i_sb, s_magic);
		if (magic == NSFS_MAGIC) {
			struct ns_common *ns = BPF_CORE_READ(ino, i_private);
			e.target_inum = BPF_CORE_READ(ns, inum);
			e.ns_type = ns_type_of(ns);
			e.own_inum = own_ns_inum(e.ns_type);
		} else if (magic == PIDFS_MAGIC) {
			/* A pidfd: every namespace named in flags is taken from that process. */
			struct pid *pid = BPF_CORE_READ(f, private_data);
			e.target_pid = BPF_CORE_READ(pid, numbers[0].nr);
		}
	}
	EMIT(events, SLOT_NS, &e, sizeof(e));
	return 0;
}

static __always_inline void pending_mount(__u32 op, __u64 flags, const char *fstype,
					  const char *source, const char *target)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return;
	/* The scratch's slack area is big enough for one mount record. */
	struct mount_event *e = (struct mount_event *)s->slack;
	fill_hdr(&e->hdr, EV_MOUNT);
	e->op = op;
	e->flags = flags;
	e->ret = 0;
	e->_pad = 0;
	e->mnt_ns = own_ns_inum(CLONE_NEWNS);
	/* A failed read (a NULL argument) leaves the field zeroed: the helper clears it. */
	bpf_probe_read_user_str(e->fstype, sizeof(e->fstype), fstype);
	bpf_probe_read_user_str(e->source, sizeof(e->source), source);
	bpf_probe_read_user_str(e->target, sizeof(e->target), target);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	if (bpf_map_update_elem(&pending_mounts, &tid, e, BPF_ANY))
		count_drop(SLOT_PENDING_FULL);
}

SEC("tp/syscalls/sys_enter_mount")
int handle_mount(struct trace_event_raw_sys_enter *ctx)
{
	__u64 flags = ctx->args[3];
	/* Changing only the propagation of existing mounts (every runtime and systemd unit with a
	 * private /tmp does it) moves nothing into view: left out. */
	if ((flags & MS_PROPAGATION) && !(flags & (MS_BIND | MS_REMOUNT)))
		return 0;
	pending_mount(MOUNT_OP_MOUNT, flags, (const char *)ctx->args[2],
		      (const char *)ctx->args[0], (const char *)ctx->args[1]);
	return 0;
}

SEC("tp/syscalls/sys_enter_pivot_root")
int handle_pivot_root(struct trace_event_raw_sys_enter *ctx)
{
	pending_mount(MOUNT_OP_PIVOT_ROOT, 0, NULL, (const char *)ctx->args[0],
		      (const char *)ctx->args[1]);
	return 0;
}

static __always_inline int mount_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mount_event *e = bpf_map_lookup_elem(&pending_mounts, &tid);
	if (!e)
		return 0;
	e->ret = ctx->ret;
	EMIT(events, SLOT_MOUNT, e, sizeof(*e));
	bpf_map_delete_elem(&pending_mounts, &tid);
	return 0;
}

SEC("tp/syscalls/sys_exit_mount")
int handle_mount_exit(struct trace_event_raw_sys_exit *ctx)
{
	return mount_exit(ctx);
}

SEC("tp/syscalls/sys_exit_pivot_root")
int handle_pivot_root_exit(struct trace_event_raw_sys_exit *ctx)
{
	return mount_exit(ctx);
}

/* On return the new sets are in place; a failed call changed nothing and is not sent. */
SEC("tp/syscalls/sys_exit_capset")
int handle_capset_exit(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret != 0)
		return 0;
	struct capset_event e = {};
	fill_hdr(&e.hdr, EV_CAPSET);
	const struct cred *c = BPF_CORE_READ(current_task(), cred);
	/* kernel_cap_t is 64 bits whether it is one u64 (6.3+) or two u32 words (before). */
	bpf_probe_read_kernel(&e.effective, sizeof(e.effective), &c->cap_effective);
	bpf_probe_read_kernel(&e.permitted, sizeof(e.permitted), &c->cap_permitted);
	bpf_probe_read_kernel(&e.inheritable, sizeof(e.inheritable), &c->cap_inheritable);
	e.euid = BPF_CORE_READ(c, euid.val);
	e.user_ns = BPF_CORE_READ(c, user_ns, ns.inum);
	EMIT(events, SLOT_CAPSET, &e, sizeof(e));
	return 0;
}

/* Threads name themselves all the time (pthread_setname_np); only the main thread's name is
 * the process's name in ps and in our events, and only a change of it is a rename. */
SEC("tp/syscalls/sys_enter_prctl")
int handle_prctl(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[0] != PR_SET_NAME)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if ((__u32)pid_tgid != pid_tgid >> 32)
		return 0;
	struct rename_event e = {};
	if (bpf_probe_read_user_str(e.new_name, sizeof(e.new_name), (void *)ctx->args[1]) < 1)
		return 0;
	fill_hdr(&e.hdr, EV_RENAME);
	/* Two 8-byte loads each: comm and the new name are both 16 bytes, NUL-padded. */
	__u64 *old = (__u64 *)e.hdr.comm, *new = (__u64 *)e.new_name;
	if (old[0] == new[0] && old[1] == new[1])
		return 0;
	EMIT(events, SLOT_RENAME, &e, sizeof(e));
	return 0;
}

SEC("tp/syscalls/sys_enter_memfd_create")
int handle_memfd_create(struct trace_event_raw_sys_enter *ctx)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	struct memfd_event *e = &s->memfd;
	fill_hdr(&e->hdr, EV_MEMFD);
	e->flags = ctx->args[1];
	e->_pad = 0;
	bpf_probe_read_user_str(e->name, sizeof(e->name), (void *)ctx->args[0]);
	EMIT(events, SLOT_MEMFD, e, sizeof(*e));
	return 0;
}

/* io_uring_create fires once a ring exists, so a refused setup is not reported. */
SEC("tp/io_uring/io_uring_create")
int handle_io_uring_create(struct trace_event_raw_io_uring_create *ctx)
{
	struct iouring_event e = {};
	fill_hdr(&e.hdr, EV_IOURING);
	e.op = IOURING_OP_SETUP;
	e.fd = ctx->fd;
	e.sq_entries = ctx->sq_entries;
	e.cq_entries = ctx->cq_entries;
	e.setup_flags = ctx->flags;
	EMIT(events, SLOT_IOURING, &e, sizeof(e));
	return 0;
}

/* Submissions run in the submitting task or in the ring's SQPOLL thread, which belongs to the
 * same process: either way hdr names the process that owns the ring. */
SEC("tp/io_uring/io_uring_submit_req")
int handle_io_uring_submit(struct trace_event_raw_io_uring_submit_req *ctx)
{
	struct ring_op key = {.ring = (__u64)ctx->ctx, .opcode = ctx->opcode};
	__u8 one = 1;
	if (bpf_map_lookup_elem(&seen_ring_ops, &key))
		return 0;
	bpf_map_update_elem(&seen_ring_ops, &key, &one, BPF_ANY);
	struct iouring_event e = {};
	fill_hdr(&e.hdr, EV_IOURING);
	e.op = IOURING_OP_SUBMIT;
	e.fd = -1;
	e.opcode = ctx->opcode;
	e.sq_thread = ctx->sq_thread;
	unsigned int loc = ctx->__data_loc_op_str & 0xFFFF;
	bpf_probe_read_kernel_str(e.op_name, sizeof(e.op_name), (void *)ctx + loc);
	EMIT(events, SLOT_IOURING, &e, sizeof(e));
	return 0;
}

/* Only opens for writing read the file name, and only a name ending in release_agent waits for
 * its descriptor: every other open costs a flag test. */
SEC("tp/syscalls/sys_enter_openat")
int handle_openat(struct trace_event_raw_sys_enter *ctx)
{
	__u32 flags = ctx->args[2];
	if (!(flags & O_ACCMODE))
		return 0;
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	long n = bpf_probe_read_user_str(s->name, sizeof(s->name), (void *)ctx->args[1]);
	if (n < RELEASE_AGENT_LEN + 1)
		return 0;
	/* n counts the NUL: the name's last RELEASE_AGENT_LEN bytes start at n - 1 - LEN. */
	__u32 start = n - 1 - RELEASE_AGENT_LEN;
	if (start > 0 && s->name[MASK(start - 1, 255)] != '/')
		return 0;
	const char want[] = RELEASE_AGENT;
	for (int i = 0; i < RELEASE_AGENT_LEN; i++)
		if (s->name[MASK(start + i, 255)] != want[i])
			return 0;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	if (bpf_map_update_elem(&pending_opens, &tid, &flags, BPF_ANY))
		count_drop(SLOT_PENDING_FULL);
	return 0;
}

SEC("tp/syscalls/sys_exit_openat")
int handle_openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 *flags = bpf_map_lookup_elem(&pending_opens, &tid);
	if (!flags)
		return 0;
	__u32 open_flags = *flags;
	bpf_map_delete_elem(&pending_opens, &tid);
	if (ctx->ret < 0)
		return 0;
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	struct file *f = fd_file(ctx->ret);
	if (!f)
		return 0;
	struct release_agent_event *e = &s->ev;
	fill_hdr(&e->hdr, EV_RELEASE_AGENT);
	e->open_flags = open_flags;
	e->_pad = 0;
	int n = write_path(BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt),
			   (struct path_out *)e->path, FILE_PATH_MAX, &s->walk);
	e->path_len = n < 0 ? -n : n;
	EMIT(events, SLOT_RELEASE_AGENT, e, sizeof(*e));
	return 0;
}
