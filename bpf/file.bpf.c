/* File family: create, open for write, delete, rename, chmod and chown inside watched paths, and
 * read-only opens of the paths on the read watch list (credential stores, keys, browser secrets).
 *
 * Filtering happens here, in the kernel: the absolute path is rebuilt from the dentry tree (for
 * opens, from the file actually opened) or from the caller's string joined to its cwd/dirfd, and
 * compared with the watch_rules map user space fills before attach. Calls are matched at entry,
 * parked per thread, and reported at exit only when they succeeded. A read is reported once per
 * (process image, file) every READ_REPEAT_NS: see read_seen. */
#include "aurora.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

#include "watch_match.h"
#include "read_watch.h"

struct scratch {
	struct file_event ev;
	char slack[EXEC_PATH_MAX * 2 + NAME_CHUNK];
	struct path_walk walk;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

/* Calls waiting for their exit, by thread id. */
struct open_args {
	__u32 flags;
	__u32 mode;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct open_args);
} pending_open SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct file_event);
} pending_op SEC(".maps");

enum { SLOT_OPEN, SLOT_OP, SLOT_READ };

#define O_ACCMODE 03
#define O_PATH 010000000
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_TRUNC 01000
#define FMODE_CREATED (1 << 20)
#define S_IXUGO 0111

struct file_event _file_event = {};
struct watch_rule _watch_rule = {};

static __always_inline struct scratch *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch_map, &zero);
}

/* Absolute path of a name passed to a syscall, relative to dfd (or the cwd). */
static __always_inline int user_path(int dfd, const char *name, char *out, struct path_walk *w)
{
	char first = 0;
	bpf_probe_read_user(&first, 1, name);
	if (first == '/') {
		long r = bpf_probe_read_user_str(out, FILE_PATH_MAX, name);
		return r > 0 ? r - 1 : 0;
	}
	struct dentry *d;
	struct vfsmount *m;
	if (dfd == AT_FDCWD) {
		struct fs_struct *fs = BPF_CORE_READ(current_task(), fs);
		d = BPF_CORE_READ(fs, pwd.dentry);
		m = BPF_CORE_READ(fs, pwd.mnt);
	} else {
		struct file *f = fd_file(dfd);
		if (!f)
			return 0;
		d = BPF_CORE_READ(f, f_path.dentry);
		m = BPF_CORE_READ(f, f_path.mnt);
	}
	int n = write_path(d, m, (struct path_out *)out, FILE_PATH_MAX - NAME_CHUNK, w);
	if (n < 0)
		n = -n;
	if (n == 1)
		n = 0; /* the root: avoid "//name" */
	out[MASK(n, 2047)] = '/';
	long r = bpf_probe_read_user_str(&out[MASK(n + 1, 2047)], NAME_CHUNK, name);
	return n + (r > 0 ? r : 1);
}

/* Keep a matched call until its exit tells whether it succeeded. */
static __always_inline void park(struct scratch *s)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&pending_op, &tid, &s->ev, BPF_ANY);
}

static __always_inline struct scratch *op_start(__u32 op)
{
	struct scratch *s = get_scratch();
	if (!s)
		return NULL;
	fill_hdr(&s->ev.hdr, EV_FILE);
	s->ev.op = op;
	s->ev.open_flags = 0;
	s->ev.mode = 0;
	s->ev.owner_uid = (__u32)-1;
	s->ev.owner_gid = (__u32)-1;
	s->ev.path_len = 0;
	s->ev.path2_len = 0;
	s->ev.path[0] = 0;
	s->ev.path2[0] = 0;
	return s;
}

static __always_inline int op_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct file_event *e = bpf_map_lookup_elem(&pending_op, &tid);
	if (!e)
		return 0;
	if (ctx->ret == 0)
		EMIT(events, SLOT_OP, e, sizeof(*e));
	bpf_map_delete_elem(&pending_op, &tid);
	return 0;
}

/* ---- open family: filter at exit, on the file really opened ---------------------------- */

static __always_inline int open_enter(__u32 flags, __u32 mode)
{
	if (!(flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)))
		return 0;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct open_args a = {.flags = flags, .mode = mode};
	bpf_map_update_elem(&pending_open, &tid, &a, BPF_ANY);
	return 0;
}

static __always_inline void fill_open(struct scratch *s, __u32 op, __u32 flags, umode_t imode,
				      int n)
{
	fill_hdr(&s->ev.hdr, EV_FILE);
	s->ev.op = op;
	s->ev.open_flags = flags;
	s->ev.mode = imode;
	s->ev.owner_uid = (__u32)-1;
	s->ev.owner_gid = (__u32)-1;
	s->ev.path_len = n < 0 ? -n : n;
	s->ev.path2_len = 0;
	s->ev.path2[0] = 0;
}

/* A read-only open (no pending write-open for this thread): report it when the file is on the
 * read watch list and new for this process image. */
static __always_inline int read_open_exit(long ret)
{
	if (ret < 0)
		return 0;
	struct file *f = fd_file(ret);
	if (!f)
		return 0;
	__u32 flags = BPF_CORE_READ(f, f_flags);
	umode_t imode = BPF_CORE_READ(f, f_inode, i_mode);
	/* reads of regular files only; O_PATH handles cannot read */
	if ((flags & (O_ACCMODE | O_PATH)) != 0 || (imode & 00170000) != 0100000)
		return 0;
	if (!may_be_read_watched(f))
		return 0;
	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	int n = write_path(BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt),
			   (struct path_out *)s->ev.path, FILE_PATH_MAX, &s->walk);
	if (!read_watched(s->ev.path))
		return 0;
	if (!read_is_new(f, bpf_ktime_get_boot_ns()))
		return 0;
	fill_open(s, FILE_OP_OPEN_READ, flags, imode, n);
	EMIT(events, SLOT_READ, &s->ev, sizeof(s->ev));
	return 0;
}

static __always_inline int open_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct open_args *a = bpf_map_lookup_elem(&pending_open, &tid);
	if (!a)
		return read_open_exit(ctx->ret);
	struct open_args args = *a;
	bpf_map_delete_elem(&pending_open, &tid);
	if (ctx->ret < 0)
		return 0;
	struct file *f = fd_file(ctx->ret);
	if (!f)
		return 0;
	umode_t imode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((imode & 00170000) != 0100000) /* regular files only */
		return 0;
	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	int n = write_path(BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt),
			   (struct path_out *)s->ev.path, FILE_PATH_MAX, &s->walk);
	if (!watched(s->ev.path, imode & S_IXUGO))
		return 0;
	__u32 fmode = BPF_CORE_READ(f, f_mode);
	fill_open(s, (fmode & FMODE_CREATED) ? FILE_OP_CREATE : FILE_OP_OPEN_WRITE, args.flags, imode,
		  n);
	EMIT(events, SLOT_OPEN, &s->ev, sizeof(s->ev));
	return 0;
}

SEC("tp/syscalls/sys_enter_openat")
int enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(ctx->args[2], ctx->args[3]);
}

SEC("tp/syscalls/sys_enter_open")
int enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(ctx->args[1], ctx->args[2]);
}

SEC("tp/syscalls/sys_enter_creat")
int enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(O_CREAT | O_WRONLY | O_TRUNC, ctx->args[1]);
}

SEC("tp/syscalls/sys_enter_openat2")
int enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};
	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	return open_enter(how.flags, how.mode);
}

#define OPEN_EXIT(name)                                                    \
	SEC("tp/syscalls/sys_exit_" #name)                                 \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)              \
	{                                                                  \
		return open_exit(ctx);                                     \
	}
OPEN_EXIT(openat)
OPEN_EXIT(open)
OPEN_EXIT(creat)
OPEN_EXIT(openat2)

/* ---- path-based operations: filter at entry, report at exit ---------------------------- */

static __always_inline int path_op(__u32 op, int dfd, const char *name, __u32 exec)
{
	struct scratch *s = op_start(op);
	if (!s)
		return 0;
	s->ev.path_len = user_path(dfd, name, s->ev.path, &s->walk);
	if (!watched(s->ev.path, exec))
		return 0;
	park(s);
	return 0;
}

static __always_inline int fd_op(__u32 op, int fd, __u32 exec, __u32 mode, __u32 uid, __u32 gid)
{
	struct file *f = fd_file(fd);
	if (!f)
		return 0;
	struct scratch *s = op_start(op);
	if (!s)
		return 0;
	int n = write_path(BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt),
			   (struct path_out *)s->ev.path, FILE_PATH_MAX, &s->walk);
	s->ev.path_len = n < 0 ? -n : n;
	if (!watched(s->ev.path, exec))
		return 0;
	s->ev.mode = mode;
	s->ev.owner_uid = uid;
	s->ev.owner_gid = gid;
	park(s);
	return 0;
}

SEC("tp/syscalls/sys_enter_unlinkat")
int enter_unlinkat(struct trace_event_raw_sys_enter *ctx)
{
	return path_op(FILE_OP_DELETE, ctx->args[0], (const char *)ctx->args[1], 0);
}

SEC("tp/syscalls/sys_enter_unlink")
int enter_unlink(struct trace_event_raw_sys_enter *ctx)
{
	return path_op(FILE_OP_DELETE, AT_FDCWD, (const char *)ctx->args[0], 0);
}

SEC("tp/syscalls/sys_enter_rmdir")
int enter_rmdir(struct trace_event_raw_sys_enter *ctx)
{
	return path_op(FILE_OP_DELETE, AT_FDCWD, (const char *)ctx->args[0], 0);
}

static __always_inline int rename_op(int odfd, const char *oname, int ndfd, const char *nname)
{
	__u32 zero = 0;
	__u64 *gen = bpf_map_lookup_elem(&dir_gen, &zero);
	if (gen)
		__sync_fetch_and_add(gen, 1); /* every directory verdict is retired */
	struct scratch *s = op_start(FILE_OP_RENAME);
	if (!s)
		return 0;
	s->ev.path_len = user_path(odfd, oname, s->ev.path, &s->walk);
	s->ev.path2_len = user_path(ndfd, nname, s->ev.path2, &s->walk);
	if (!watched(s->ev.path, 0) && !watched(s->ev.path2, 0))
		return 0;
	park(s);
	return 0;
}

SEC("tp/syscalls/sys_enter_renameat2")
int enter_renameat2(struct trace_event_raw_sys_enter *ctx)
{
	return rename_op(ctx->args[0], (const char *)ctx->args[1], ctx->args[2],
			 (const char *)ctx->args[3]);
}

SEC("tp/syscalls/sys_enter_renameat")
int enter_renameat(struct trace_event_raw_sys_enter *ctx)
{
	return rename_op(ctx->args[0], (const char *)ctx->args[1], ctx->args[2],
			 (const char *)ctx->args[3]);
}

SEC("tp/syscalls/sys_enter_rename")
int enter_rename(struct trace_event_raw_sys_enter *ctx)
{
	return rename_op(AT_FDCWD, (const char *)ctx->args[0], AT_FDCWD,
			 (const char *)ctx->args[1]);
}

static __always_inline int chmod_op(int dfd, const char *name, __u32 mode)
{
	struct scratch *s = op_start(FILE_OP_CHMOD);
	if (!s)
		return 0;
	s->ev.mode = mode;
	s->ev.path_len = user_path(dfd, name, s->ev.path, &s->walk);
	if (!watched(s->ev.path, mode & S_IXUGO))
		return 0;
	park(s);
	return 0;
}

SEC("tp/syscalls/sys_enter_fchmodat")
int enter_fchmodat(struct trace_event_raw_sys_enter *ctx)
{
	return chmod_op(ctx->args[0], (const char *)ctx->args[1], ctx->args[2]);
}

SEC("tp/syscalls/sys_enter_chmod")
int enter_chmod(struct trace_event_raw_sys_enter *ctx)
{
	return chmod_op(AT_FDCWD, (const char *)ctx->args[0], ctx->args[1]);
}

SEC("tp/syscalls/sys_enter_fchmod")
int enter_fchmod(struct trace_event_raw_sys_enter *ctx)
{
	__u32 mode = ctx->args[1];
	return fd_op(FILE_OP_CHMOD, ctx->args[0], mode & S_IXUGO, mode, -1, -1);
}

static __always_inline int chown_op(int dfd, const char *name, __u32 uid, __u32 gid)
{
	struct scratch *s = op_start(FILE_OP_CHOWN);
	if (!s)
		return 0;
	s->ev.owner_uid = uid;
	s->ev.owner_gid = gid;
	s->ev.path_len = user_path(dfd, name, s->ev.path, &s->walk);
	if (!watched(s->ev.path, 0))
		return 0;
	park(s);
	return 0;
}

SEC("tp/syscalls/sys_enter_fchownat")
int enter_fchownat(struct trace_event_raw_sys_enter *ctx)
{
	return chown_op(ctx->args[0], (const char *)ctx->args[1], ctx->args[2], ctx->args[3]);
}

SEC("tp/syscalls/sys_enter_chown")
int enter_chown(struct trace_event_raw_sys_enter *ctx)
{
	return chown_op(AT_FDCWD, (const char *)ctx->args[0], ctx->args[1], ctx->args[2]);
}

SEC("tp/syscalls/sys_enter_lchown")
int enter_lchown(struct trace_event_raw_sys_enter *ctx)
{
	return chown_op(AT_FDCWD, (const char *)ctx->args[0], ctx->args[1], ctx->args[2]);
}

SEC("tp/syscalls/sys_enter_fchown")
int enter_fchown(struct trace_event_raw_sys_enter *ctx)
{
	return fd_op(FILE_OP_CHOWN, ctx->args[0], 0, 0, ctx->args[1], ctx->args[2]);
}

#define OP_EXIT(name)                                                      \
	SEC("tp/syscalls/sys_exit_" #name)                                 \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)              \
	{                                                                  \
		return op_exit(ctx);                                       \
	}
OP_EXIT(unlinkat)
OP_EXIT(unlink)
OP_EXIT(rmdir)
OP_EXIT(renameat2)
OP_EXIT(renameat)
OP_EXIT(rename)
OP_EXIT(fchmodat)
OP_EXIT(chmod)
OP_EXIT(fchmod)
OP_EXIT(fchownat)
OP_EXIT(chown)
OP_EXIT(lchown)
OP_EXIT(fchown)
