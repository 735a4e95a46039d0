/* Kernel family: module loads (init_module, finit_module) and BPF program loads (bpf syscall).
 *
 * Syscall entry tracepoints: they see the request even when it is refused later, which is what a
 * defender wants to know about loading code into the kernel. */
#include "aurora.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct scratch {
	struct kmod_event ev;
	char slack[EXEC_PATH_MAX * 2 + NAME_CHUNK];
	struct path_walk walk;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

enum { SLOT_INIT, SLOT_FINIT, SLOT_BPF };

struct bpf_event _bpf_event = {};

static __always_inline struct scratch *kmod_start(__u32 op)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return NULL;
	fill_hdr(&s->ev.hdr, EV_KMOD);
	s->ev.op = op;
	s->ev.flags = 0;
	s->ev.image_len = 0;
	s->ev.path_len = 0;
	s->ev.path[0] = 0;
	s->ev.args[0] = 0;
	return s;
}

SEC("tp/syscalls/sys_enter_init_module")
int handle_init_module(struct trace_event_raw_sys_enter *ctx)
{
	struct scratch *s = kmod_start(KMOD_OP_INIT);
	if (!s)
		return 0;
	s->ev.image_len = ctx->args[1];
	bpf_probe_read_user_str(s->ev.args, sizeof(s->ev.args), (void *)ctx->args[2]);
	EMIT(events, SLOT_INIT, &s->ev, sizeof(s->ev));
	return 0;
}

SEC("tp/syscalls/sys_enter_finit_module")
int handle_finit_module(struct trace_event_raw_sys_enter *ctx)
{
	struct scratch *s = kmod_start(KMOD_OP_FINIT);
	if (!s)
		return 0;
	s->ev.flags = ctx->args[2];
	bpf_probe_read_user_str(s->ev.args, sizeof(s->ev.args), (void *)ctx->args[1]);
	struct file *f = fd_file(ctx->args[0]);
	if (f) {
		int n = write_path(BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt),
				   (struct path_out *)s->ev.path, FILE_PATH_MAX, &s->walk);
		s->ev.path_len = n < 0 ? -n : n;
	}
	EMIT(events, SLOT_FINIT, &s->ev, sizeof(s->ev));
	return 0;
}

#define BPF_PROG_LOAD_CMD 5

SEC("tp/syscalls/sys_enter_bpf")
int handle_bpf(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[0] != BPF_PROG_LOAD_CMD)
		return 0;
	union bpf_attr attr = {};
	struct bpf_event e = {};
	/* Only the leading fields are read: the size user space passes varies by libbpf version. */
	if (bpf_probe_read_user(&attr, offsetof(union bpf_attr, prog_name) + sizeof(attr.prog_name),
				(void *)ctx->args[1]))
		return 0;
	fill_hdr(&e.hdr, EV_BPF);
	e.cmd = ctx->args[0];
	e.prog_type = attr.prog_type;
	e.insn_cnt = attr.insn_cnt;
	__builtin_memcpy(e.prog_name, attr.prog_name, sizeof(e.prog_name));
	EMIT(events, SLOT_BPF, &e, sizeof(e));
	return 0;
}
