/* Read watch helpers for the file family: the anchors that turn most read-opens away before
 * their path is built, the verdicts remembered per directory, and the per-process-image
 * de-duplication of reported reads. */
#pragma once

#include "aurora.h"

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
