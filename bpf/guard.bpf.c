/* Guard: signals, ptrace and process_vm_writev aimed at the sensor's own processes.
 *
 * signal:signal_generate fires in the sender's context before the signal is delivered, so even a
 * SIGKILL is recorded while the sensor still exists. The filter runs in the kernel (a hash of the
 * sensor's pids), so the rest of the host's signals never leave it. The ring is pinned by the
 * loader, so a record written just before the sensor dies is read by the next run. */
#include "aurora.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

/* The sensor's process ids (tgids), filled by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u8);
} guarded SEC(".maps");

enum { SLOT_SIGNAL, SLOT_PTRACE, SLOT_VM_WRITEV };

struct guard_event _guard_event = {};

#define SIGCHLD_NR 17
#define SIGWINCH_NR 28
#define PTRACE_POKETEXT 4
#define PTRACE_POKEDATA 5
#define PTRACE_POKEUSER 6
#define PTRACE_SETREGS 13
#define PTRACE_ATTACH 16
#define PTRACE_SEIZE 0x4206

static __always_inline int report(__u32 target, __u32 op, __u64 arg, __u32 slot)
{
	if (!bpf_map_lookup_elem(&guarded, &target))
		return 0;
	struct guard_event e = {};
	fill_hdr(&e.hdr, EV_GUARD);
	/* The sensor signalling itself (its own stop path) is not tampering. */
	if (e.hdr.pid == target)
		return 0;
	e.target_pid = target;
	e.op = op;
	e.arg = arg;
	EMIT(events, slot, &e, sizeof(e));
	return 0;
}

/* Stable tracepoint (include/trace/events/signal.h); its pid field is the target task's pid,
 * which for a signal sent to the process (kill, not tgkill) is the thread-group leader's. */
SEC("tp/signal/signal_generate")
int handle_signal(struct trace_event_raw_signal_generate *ctx)
{
	/* A child's exit and a terminal resize notify the sensor; they are not aimed at it. */
	if (ctx->sig == SIGCHLD_NR || ctx->sig == SIGWINCH_NR)
		return 0;
	return report(ctx->pid, GUARD_OP_SIGNAL, ctx->sig, SLOT_SIGNAL);
}

SEC("tp/syscalls/sys_enter_ptrace")
int handle_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	__u64 req = ctx->args[0];
	if (req != PTRACE_ATTACH && req != PTRACE_SEIZE && req != PTRACE_POKETEXT &&
	    req != PTRACE_POKEDATA && req != PTRACE_POKEUSER && req != PTRACE_SETREGS)
		return 0;
	return report(ctx->args[1], GUARD_OP_PTRACE, req, SLOT_PTRACE);
}

SEC("tp/syscalls/sys_enter_process_vm_writev")
int handle_vm_writev(struct trace_event_raw_sys_enter *ctx)
{
	return report(ctx->args[0], GUARD_OP_VM_WRITEV, 0, SLOT_VM_WRITEV);
}
