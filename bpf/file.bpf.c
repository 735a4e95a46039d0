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

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WATCH_RULES_MAX);
	__type(key, __u32);
	__type(value, struct watch_rule);
} watch_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, READ_RULES_MAX);
	__type(key, __u32);
	__type(value, struct watch_rule);
} read_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, READ_RULES_MAX);
	__type(key, struct read_anchor);
	__type(value, __u32);
} read_anchors SEC(".maps");

/* Directories whose path holds no anchor, by (dentry, mount, inode): read-opens crowd into few
 * directories (libraries, locales, /proc), so the walk up is paid once per directory, not once
 * per open. A rename anywhere bumps dir_gen, which retires every verdict at once (a renamed
 * directory may now sit under an anchor); the inode number keeps a freed dentry reused for
 * another directory from inheriting a verdict. */
struct dir_key {
	__u64 dentry;
	__u64 mnt;
	__u64 ino;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct dir_key);
	__type(value, __u64);
} clean_dirs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} dir_gen SEC(".maps");

static __always_inline __u64 current_dir_gen(void)
{
	__u32 zero = 0;
	__u64 *g = bpf_map_lookup_elem(&dir_gen, &zero);
	return g ? *g : 0;
}

/* In-kernel de-duplication of reads: one process image reading one file again and again (a PAM
 * helper, a daemon re-reading its key) reports it once, then again only after READ_REPEAT_NS.
 * The key holds the exec count of the task, so a process that execs another program reading the
 * same file is reported anew; an LRU map forgets the oldest pairs first. */
#define READ_REPEAT_NS (60ULL * 1000000000ULL)
struct read_key {
	__u64 start_ns;
	__u64 ino;
	__u32 tgid;
	__u32 exec_id;
	__u32 dev;
	__u32 _pad;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct read_key);
	__type(value, __u64);
} read_seen SEC(".maps");

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

struct match_ctx {
	const char *path;
	__u32 exec;
	__u32 matched;
	__u32 rule;
	__u32 pi;
	__u32 si;
};

static __always_inline long next_rule(struct match_ctx *c)
{
	c->rule++;
	c->pi = 0;
	c->si = 0;
	return 0;
}

/* One step of matching ctx->path against rule r, one rule after the other. A single flat
 * bpf_loop keeps the verifier's work constant whatever the rules hold. '*' stands for the rest of
 * one path component; a rule matches the path itself and everything below it. */
static __always_inline long rule_step(struct watch_rule *r, struct match_ctx *c)
{
	if (!r || r->len == 0)
		return 1;
	if ((r->flags & WATCH_F_EXEC_ONLY) && !c->exec)
		return next_rule(c);
	char ch = c->path[c->si & 2047];
	if (c->pi >= r->len || c->pi >= WATCH_PATTERN_MAX) {
		if (ch == 0 || ch == '/') {
			c->matched = 1;
			return 1;
		}
		return next_rule(c);
	}
	char pc = r->pattern[c->pi & (WATCH_PATTERN_MAX - 1)];
	if (pc == '*') {
		if (ch == '/' || ch == 0)
			c->pi++;
		else
			c->si++;
		return 0;
	}
	if (ch != pc)
		return next_rule(c);
	c->pi++;
	c->si++;
	return 0;
}

/* A map is a constant to the verifier, so each list gets its own step function. */
static long match_step(__u64 i, struct match_ctx *c)
{
	__u32 key = c->rule;
	return rule_step(bpf_map_lookup_elem(&watch_rules, &key), c);
}

static long read_match_step(__u64 i, struct match_ctx *c)
{
	__u32 key = c->rule;
	return rule_step(bpf_map_lookup_elem(&read_rules, &key), c);
}

static __always_inline int watched(const char *path, __u32 exec)
{
	struct match_ctx c = {.path = path, .exec = exec};
	bpf_loop(WATCH_RULES_MAX * (WATCH_PATTERN_MAX + 256), match_step, &c, 0);
	return c.matched;
}

static __always_inline int read_watched(const char *path)
{
	struct match_ctx c = {.path = path};
	bpf_loop(READ_RULES_MAX * (WATCH_PATTERN_MAX + 256), read_match_step, &c, 0);
	return c.matched;
}

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

/* Could this file match a read rule at all? Most read-opens (libraries, /proc, locale files)
 * are turned away here, without building their path: the file's own name is checked, then its
 * directory's verdict is looked up, and only a directory not seen since the last rename is walked
 * up to the root. An unrolled loop, not bpf_loop: an indirect call per level costs more than the
 * level's own work. A path deeper than ANCHOR_DEPTH levels (mount crossings included) is matched
 * in full. */
#define ANCHOR_DEPTH 16

static __always_inline int is_anchor(struct dentry *d, struct read_anchor *key)
{
	struct qstr name = {};
	bpf_probe_read_kernel(&name, sizeof(name), &d->d_name);
	if (name.len >= ANCHOR_MAX)
		return 0;
	__builtin_memset(key, 0, sizeof(*key));
	bpf_probe_read_kernel_str(key->name, ANCHOR_MAX, name.name);
	return bpf_map_lookup_elem(&read_anchors, key) != NULL;
}

struct anchor_walk {
	struct dentry *d;
	struct mount *mnt;
	struct dentry *mnt_root;
	struct read_anchor key;
	__u32 found;
};

/* One step up from c->d: is its name an anchor? Crosses mount points like walk_up. */
static __always_inline long anchor_step(struct anchor_walk *c)
{
	struct dentry *d = c->d;
	struct mount *mnt = c->mnt;
	if (d == c->mnt_root) {
		struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);
		if (parent == mnt || !parent)
			return 1;
		c->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		c->mnt = parent;
		c->mnt_root = BPF_CORE_READ(parent, mnt.mnt_root);
		return 0;
	}
	struct dentry *up = BPF_CORE_READ(d, d_parent);
	if (!up || up == d)
		return 1;
	if (is_anchor(d, &c->key)) {
		c->found = 1;
		return 1;
	}
	c->d = up;
	return 0;
}

static __always_inline int may_be_read_watched(struct file *f)
{
	struct vfsmount *vm = BPF_CORE_READ(f, f_path.mnt);
	struct dentry *leaf = BPF_CORE_READ(f, f_path.dentry);
	struct anchor_walk c = {
		.d = leaf,
		.mnt = container_of(vm, struct mount, mnt),
		.mnt_root = BPF_CORE_READ(vm, mnt_root),
	};
	if (leaf == c.mnt_root) /* a file mounted on its own: walk from it */
		goto walk;
	if (is_anchor(leaf, &c.key))
		return 1;
	struct dentry *dir = BPF_CORE_READ(leaf, d_parent);
	c.d = dir;
	struct dir_key dk = {
		.dentry = (__u64)dir,
		.mnt = (__u64)vm,
		.ino = BPF_CORE_READ(dir, d_inode, i_ino),
	};
	__u64 gen = current_dir_gen();
	__u64 *seen = bpf_map_lookup_elem(&clean_dirs, &dk);
	if (seen && *seen == gen)
		return 0;
#pragma unroll
	for (int i = 0; i < ANCHOR_DEPTH; i++)
		if (anchor_step(&c)) {
			if (!c.found)
				bpf_map_update_elem(&clean_dirs, &dk, &gen, BPF_ANY);
			return c.found;
		}
	return 1;
walk:
#pragma unroll
	for (int i = 0; i < ANCHOR_DEPTH; i++)
		if (anchor_step(&c))
			return c.found;
	return 1;
}

/* First read of this file by this process image, or the first in READ_REPEAT_NS? */
static __always_inline int read_is_new(struct file *f, __u64 now)
{
	struct task_struct *leader = BPF_CORE_READ(current_task(), group_leader);
	struct read_key k = {
		.start_ns = BPF_CORE_READ(leader, start_boottime),
		.ino = BPF_CORE_READ(f, f_inode, i_ino),
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.exec_id = BPF_CORE_READ(leader, self_exec_id),
		.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev),
	};
	__u64 *last = bpf_map_lookup_elem(&read_seen, &k);
	if (last && now - *last < READ_REPEAT_NS)
		return 0;
	bpf_map_update_elem(&read_seen, &k, &now, BPF_ANY);
	return 1;
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
