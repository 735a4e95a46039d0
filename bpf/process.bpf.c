/* Process family: exec (with everything captured in the kernel), fork, exit, setuid/setgid-family
 * calls, ptrace attach/poke and process_vm_writev. Tracepoints only: they are stable ABI and the
 * only hooks these kernels allow (no kprobes, no fentry). */
#include "aurora.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/* Where exe, cwd and argv are built before they are packed into the record's strings[]: each in
 * a field of its own, followed by room for write_path's last component and argv's masked read. */
struct exec_parts {
	char exe[EXEC_PATH_MAX];
	char cwd[EXEC_PATH_MAX];
	char argv[ARGV_MAX];
	char slack[ARGV_MAX + 2 * EXEC_PATH_MAX + NAME_CHUNK];
};

/* An exec record and its parts are far too big for the 512-byte BPF stack. */
struct scratch {
	struct exec_event ev;
	struct exec_parts parts;
	struct path_walk walk;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

enum { SLOT_EXEC, SLOT_FORK, SLOT_EXIT, SLOT_SETID, SLOT_PTRACE };

/* Keep the record types in the object's BTF for the layout test. */
struct fork_event _fork_event = {};
struct exit_event _exit_event = {};
struct setid_event _setid_event = {};
struct ptrace_event _ptrace_event = {};

/* Flavour for kernels before 6.7, where the inode mtime was a timespec64. */
struct inode___old {
	struct timespec64 i_mtime;
};

static __always_inline __u64 inode_mtime_ns(struct inode *ino)
{
	if (bpf_core_field_exists(ino->i_mtime_sec))
		return BPF_CORE_READ(ino, i_mtime_sec) * 1000000000ULL +
		       BPF_CORE_READ(ino, i_mtime_nsec);
	struct inode___old *o = (void *)ino;
	return BPF_CORE_READ(o, i_mtime.tv_sec) * 1000000000ULL + BPF_CORE_READ(o, i_mtime.tv_nsec);
}

/* sched_process_exec fires after the new image is mapped and the argument pages are in place,
 * in the context of the new program: the one moment argv, exe and credentials are all final. */
SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	struct exec_event *e = &s->ev;
	struct task_struct *t = current_task();

	fill_hdr(&e->hdr, EV_EXEC);
	e->flags = 0;
	e->old_pid = ctx->old_pid;

	const struct cred *cred = BPF_CORE_READ(t, cred);
	e->euid = BPF_CORE_READ(cred, euid.val);
	e->egid = BPF_CORE_READ(cred, egid.val);
	e->suid = BPF_CORE_READ(cred, suid.val);
	e->sgid = BPF_CORE_READ(cred, sgid.val);
	e->loginuid = (__u32)-1;
	e->sessionid = (__u32)-1;
	if (bpf_core_field_exists(t->loginuid)) {
		e->loginuid = BPF_CORE_READ(t, loginuid.val);
		e->sessionid = BPF_CORE_READ(t, sessionid);
	}

	e->tty[0] = 0;
	struct tty_struct *tty = BPF_CORE_READ(t, signal, tty);
	if (tty)
		bpf_probe_read_kernel_str(e->tty, sizeof(e->tty), &tty->name);

	e->cgroup[0] = 0;
	const char *cg = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, name);
	if (cg)
		bpf_probe_read_kernel_str(e->cgroup, sizeof(e->cgroup), cg);

	/* The filename goes straight to the front of strings[]; the rest follow it once built. */
	unsigned int loc = ctx->__data_loc_filename & 0xFFFF;
	long fl = bpf_probe_read_kernel_str(e->strings, FILENAME_MAX, (void *)ctx + loc);
	e->filename_len = fl > 0 ? fl - 1 : 0;

	struct exec_parts *parts = &s->parts;
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	struct file *exe = BPF_CORE_READ(mm, exe_file);
	e->exe_len = 0;
	if (exe) {
		struct inode *ino = BPF_CORE_READ(exe, f_inode);
		struct dentry *d = BPF_CORE_READ(exe, f_path.dentry);
		e->exe_ino = BPF_CORE_READ(ino, i_ino);
		e->exe_dev = BPF_CORE_READ(ino, i_sb, s_dev);
		e->exe_mtime_ns = inode_mtime_ns(ino);
		/* An unhashed dentry that is not a root was unlinked: deleted file or memfd. */
		if (!BPF_CORE_READ(d, d_hash.pprev) && BPF_CORE_READ(d, d_parent) != d)
			e->flags |= EXEC_F_EXE_UNLINKED;
		int n = write_path(d, BPF_CORE_READ(exe, f_path.mnt),
				   (struct path_out *)parts->exe, EXEC_PATH_MAX, &s->walk);
		if (n < 0) {
			n = -n;
			e->flags |= EXEC_F_EXE_TRUNCATED;
		}
		e->exe_len = n;
	}

	struct fs_struct *fs = BPF_CORE_READ(t, fs);
	int c = write_path(BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt),
			   (struct path_out *)parts->cwd, EXEC_PATH_MAX, &s->walk);
	if (c < 0) {
		c = -c;
		e->flags |= EXEC_F_CWD_TRUNCATED;
	}
	e->cwd_len = c;

	unsigned long start = BPF_CORE_READ(mm, arg_start);
	unsigned long end = BPF_CORE_READ(mm, arg_end);
	unsigned long len = end > start ? end - start : 0;
	e->args_size = len;
	if (len > ARGV_MAX) {
		len = ARGV_MAX;
		e->flags |= EXEC_F_ARGV_TRUNCATED;
	}
	if (len && bpf_probe_read_user(parts->argv, MASK(len, 8191), (void *)start))
		len = 0;
	e->argv_len = len;

	/* Pack exe, cwd and argv behind the filename. Every offset stays below FILENAME_MAX +
	 * 2 * EXEC_PATH_MAX; the masks only show the verifier the bounds of strings[]. */
	__u32 off = e->filename_len;
	bpf_probe_read_kernel(&e->strings[MASK(off, 4095)], MASK(e->exe_len, 2047), parts->exe);
	off += e->exe_len;
	bpf_probe_read_kernel(&e->strings[MASK(off, 4095)], MASK(e->cwd_len, 2047), parts->cwd);
	off += e->cwd_len;
	bpf_probe_read_kernel(&e->strings[MASK(off, 4095)], MASK(len, 8191), parts->argv);
	off += len;

	__u32 size = offsetof(struct exec_event, strings) + MASK(off, 16383);
	if (size > sizeof(*e))
		size = sizeof(*e);
	EMIT(events, SLOT_EXEC, e, size);
	return 0;
}

/* The raw form of sched_process_fork passes both task pointers, which tells a new process from a
 * new thread; threads are not processes and are left out here. */
SEC("raw_tp/sched_process_fork")
int handle_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx->args[0];
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 pid = BPF_CORE_READ(child, pid);
	__u32 tgid = BPF_CORE_READ(child, tgid);
	struct fork_event e = {};

	if (pid != tgid)
		return 0;
	fill_hdr(&e.hdr, EV_FORK);
	e.hdr.pid = tgid;
	e.hdr.tid = pid;
	e.hdr.ppid = BPF_CORE_READ(parent, tgid);
	e.hdr.start_ns = BPF_CORE_READ(child, start_boottime);
	EMIT(events, SLOT_FORK, &e, sizeof(e));
	return 0;
}

/* sched_process_exit runs per thread; only the last one out (signal->live reached zero) ends
 * the process. */
SEC("tp/sched/sched_process_exit")
int handle_exit(void *ctx)
{
	struct task_struct *t = current_task();
	struct exit_event e = {};

	if (BPF_CORE_READ(t, signal, live.counter) != 0)
		return 0;
	fill_hdr(&e.hdr, EV_EXIT);
	e.exit_code = BPF_CORE_READ(t, exit_code);
	__u32 group = BPF_CORE_READ(t, signal, group_exit_code);
	if (group)
		e.exit_code = group;
	EMIT(events, SLOT_EXIT, &e, sizeof(e));
	return 0;
}

static __always_inline int setid_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct setid_event e = {};
	if (ctx->ret != 0)
		return 0;
	fill_hdr(&e.hdr, EV_SETID);
	struct task_struct *t = current_task();
	const struct cred *c = BPF_CORE_READ(t, cred);
	e.syscall_nr = ctx->id;
	e.hdr.uid = BPF_CORE_READ(c, uid.val);
	e.hdr.gid = BPF_CORE_READ(c, gid.val);
	e.euid = BPF_CORE_READ(c, euid.val);
	e.suid = BPF_CORE_READ(c, suid.val);
	e.fsuid = BPF_CORE_READ(c, fsuid.val);
	e.egid = BPF_CORE_READ(c, egid.val);
	e.sgid = BPF_CORE_READ(c, sgid.val);
	e.fsgid = BPF_CORE_READ(c, fsgid.val);
	EMIT(events, SLOT_SETID, &e, sizeof(e));
	return 0;
}

#define SETID_PROG(name)                                                  \
	SEC("tp/syscalls/sys_exit_" #name)                                \
	int handle_exit_##name(struct trace_event_raw_sys_exit *ctx)      \
	{                                                                 \
		return setid_exit(ctx);                                   \
	}

SETID_PROG(setuid)
SETID_PROG(setreuid)
SETID_PROG(setresuid)
SETID_PROG(setgid)
SETID_PROG(setregid)
SETID_PROG(setresgid)

/* setfsuid/setfsgid return the previous id whether or not they changed it: sent only when the
 * id now in the credentials differs from the one returned. */
#define SETFSID_PROG(name, field)                                         \
	SEC("tp/syscalls/sys_exit_" #name)                                \
	int handle_exit_##name(struct trace_event_raw_sys_exit *ctx)      \
	{                                                                 \
		const struct cred *c = BPF_CORE_READ(current_task(), cred); \
		if (BPF_CORE_READ(c, field.val) == (__u32)ctx->ret)       \
			return 0;                                         \
		struct trace_event_raw_sys_exit ok = {.id = ctx->id};     \
		return setid_exit(&ok);                                   \
	}

SETFSID_PROG(setfsuid, fsuid)
SETFSID_PROG(setfsgid, fsgid)

#define PTRACE_POKETEXT 4
#define PTRACE_POKEDATA 5
#define PTRACE_ATTACH 16
#define PTRACE_SEIZE 0x4206

SEC("tp/syscalls/sys_enter_ptrace")
int handle_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	struct ptrace_event e = {};
	__u64 req = ctx->args[0];
	if (req == PTRACE_ATTACH || req == PTRACE_SEIZE)
		e.op = PTRACE_OP_ATTACH;
	else if (req == PTRACE_POKETEXT || req == PTRACE_POKEDATA)
		e.op = PTRACE_OP_POKE;
	else
		return 0;
	fill_hdr(&e.hdr, EV_PTRACE);
	e.request = req;
	e.target_pid = ctx->args[1];
	EMIT(events, SLOT_PTRACE, &e, sizeof(e));
	return 0;
}

SEC("tp/syscalls/sys_enter_process_vm_writev")
int handle_vm_writev(struct trace_event_raw_sys_enter *ctx)
{
	struct ptrace_event e = {};
	fill_hdr(&e.hdr, EV_PTRACE);
	e.op = PTRACE_OP_VM_WRITEV;
	e.target_pid = ctx->args[0];
	EMIT(events, SLOT_PTRACE, &e, sizeof(e));
	return 0;
}
