/* Helpers every event family shares: the record header, drop accounting, path building and
 * file-descriptor lookup. Each .bpf.c is its own object, so the maps declared here are per family.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

#include "events.h"

#define AT_FDCWD -100
#define PATH_DEPTH_MAX 32
#define NAME_CHUNK 256

/* Failed ring-buffer reservations, per program slot and per CPU: a ring buffer never says when
 * it loses a record, so the programs count it themselves. */
#define DROP_SLOTS 32
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void count_drop(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &slot);
	if (n)
		*n += 1;
}

/* Wake the reader only once this much is waiting: user space also drains every poll interval,
 * so records batch up instead of costing one wakeup (and one Python callback round) each. */
#define WAKEUP_BYTES (128 * 1024)

/* Send a record built in scratch memory; count it when it cannot be sent. On recent kernels a
 * reservation can also fail under lock contention with the ring far from full (measured here:
 * about once per 20,000 execs on two busy vCPUs, and the retry then succeeded), so one failed
 * attempt is retried before the record is counted as dropped. */
#define EMIT(rb, slot, rec, size)                                                   \
	do {                                                                             \
		__u64 __flags = bpf_ringbuf_query(&(rb), BPF_RB_AVAIL_DATA) >= WAKEUP_BYTES \
					? BPF_RB_FORCE_WAKEUP                            \
					: BPF_RB_NO_WAKEUP;                              \
		if (bpf_ringbuf_output(&(rb), (rec), (size), __flags) &&                 \
		    bpf_ringbuf_output(&(rb), (rec), (size), __flags))                   \
			count_drop(slot);                                                \
	} while (0)

static __always_inline struct task_struct *current_task(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

static __always_inline void fill_hdr(struct ev_hdr *h, __u32 kind)
{
	struct task_struct *t = current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	h->ts_ns = bpf_ktime_get_boot_ns();
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->start_ns = BPF_CORE_READ(t, group_leader, start_boottime);
	h->kind = kind;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->ppid = BPF_CORE_READ(t, real_parent, tgid);
	h->uid = (__u32)uid_gid;
	h->gid = uid_gid >> 32;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* An AND the compiler cannot fold away, so the verifier sees the bound on a variable offset. */
#define MASK(v, m) ({ __u64 __v = (v); asm volatile("%0 &= " #m : "+r"(__v)); __v; })

/* Scratch used while walking a path: the component names, deepest first. */
struct path_walk {
	const unsigned char *names[PATH_DEPTH_MAX];
	/* Counters live here, in map memory, not on the stack: the verifier does not track values
	 * it reloads from a map, so the loop callbacks below verify once instead of once per
	 * possible depth and offset. */
	__u32 n;
	__u32 off;
	__u32 truncated;
	__u32 max;
};

/* Output area for write_path: the field written plus room for one more component, so that the
 * verifier can bound every write with a mask. */
struct path_out {
	char s[EXEC_PATH_MAX * 2 + NAME_CHUNK];
};

struct walk_ctx {
	struct dentry *d;
	struct mount *mnt;
	struct dentry *mnt_root;
	struct path_walk *w;
	struct path_out *out;
};

/* One step up the dentry tree. */
static long walk_up(__u64 i, struct walk_ctx *c)
{
	struct dentry *d = c->d;
	struct mount *mnt = c->mnt;
	struct path_walk *w = c->w;

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
	__u32 n = w->n;
	if (!up)
		return 1;
	if (up == d) {
		/* A root that is not a mount root: a pseudo file (memfd, anonymous inode). Its own
		 * name ("memfd:x") is all the path there is. */
		if (n == 0) {
			w->names[0] = BPF_CORE_READ(d, d_name.name);
			w->n = 1;
		}
		return 1;
	}
	if (n >= PATH_DEPTH_MAX) {
		w->truncated = 1;
		return 1;
	}
	w->names[n & (PATH_DEPTH_MAX - 1)] = BPF_CORE_READ(d, d_name.name);
	w->n = n + 1;
	c->d = up;
	return 0;
}

/* Append the i-th component from the root down. */
static long emit_component(__u64 i, struct walk_ctx *c)
{
	struct path_walk *w = c->w;
	__u32 off = w->off;
	if (off + NAME_CHUNK + 2 > w->max) {
		w->truncated = 1;
		return 1;
	}
	c->out->s[MASK(off, 2047)] = '/';
	long r = bpf_probe_read_kernel_str(&c->out->s[MASK(off + 1, 2047)], NAME_CHUNK,
					   w->names[MASK(w->n - 1 - i, 31)]);
	w->off = off + (r < 1 ? 1 : r);
	return 0;
}

/* Write the absolute path of (dentry, vfsmount) into out->s[0..max), NUL-terminated, crossing
 * mount points up to the global root. Returns the length, negated when components were lost (the
 * path is then the part that fitted). Reads go through CO-RE only, so it is safe from any
 * tracepoint. */
static __always_inline int write_path(struct dentry *d, struct vfsmount *vm,
				      struct path_out *out, __u32 max, struct path_walk *w)
{
	struct walk_ctx c = {
		.d = d,
		.mnt = container_of(vm, struct mount, mnt),
		.mnt_root = BPF_CORE_READ(vm, mnt_root),
		.w = w,
		.out = out,
	};

	w->n = 0;
	w->off = 0;
	w->truncated = 0;
	w->max = max > EXEC_PATH_MAX * 2 ? EXEC_PATH_MAX * 2 : max;
	bpf_loop(PATH_DEPTH_MAX + 8, walk_up, &c, 0);
	bpf_loop(w->n, emit_component, &c, 0);
	__u32 off = w->off;
	if (off == 0) {
		out->s[0] = '/';
		off = 1;
	}
	out->s[MASK(off, 2047)] = 0;
	return w->truncated ? -(int)off : (int)off;
}

/* The struct file behind a descriptor of the current task, or NULL. */
static __always_inline struct file *fd_file(int fd)
{
	if (fd < 0)
		return NULL;
	/* The table once, then its bound and its array: each pointer hop is a probe read. */
	struct fdtable *fdt = BPF_CORE_READ(current_task(), files, fdt);
	if (!fdt || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* The socket behind a descriptor, or NULL when it is not a socket. */
static __always_inline struct sock *fd_sock(int fd)
{
	struct file *f = fd_file(fd);
	if (!f)
		return NULL;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & 00170000) != 0140000) /* S_IFSOCK */
		return NULL;
	struct socket *s = BPF_CORE_READ(f, private_data);
	if (!s)
		return NULL;
	return BPF_CORE_READ(s, sk);
}
