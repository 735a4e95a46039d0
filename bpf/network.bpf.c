/* Network family: TCP connect (outbound), accept (inbound) and listen, IPv4 and IPv6.
 *
 * sock:inet_sock_set_state gives every TCP state change. CLOSE->SYN_SENT runs in the connecting
 * task, but before the source port is chosen, so the owner is remembered per socket and the event
 * is sent when SYN_SENT ends (ESTABLISHED, or CLOSE for a failed connect), usually in softirq.
 * CLOSE->LISTEN runs in the listening task. Accepted connections are read from the new
 * descriptor at accept()/accept4() exit, the only point that knows the owning task. */
#include "aurora.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct ev_hdr);
} connecting SEC(".maps");

enum { SLOT_CONNECT, SLOT_LISTEN, SLOT_ACCEPT };

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

struct net_event _net_event = {};

static __always_inline void copy_addrs(struct net_event *e,
				       struct trace_event_raw_inet_sock_set_state *ctx)
{
	/* The tracepoint context only allows constant-offset loads; copy arrays with a helper. */
	if (ctx->family == AF_INET) {
		bpf_probe_read_kernel(e->saddr, 4, ctx->saddr);
		bpf_probe_read_kernel(e->daddr, 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
	}
}

SEC("tp/sock/inet_sock_set_state")
int handle_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP || (ctx->family != AF_INET && ctx->family != AF_INET6))
		return 0;
	__u64 sk = (__u64)ctx->skaddr;
	struct net_event e = {};

	if (ctx->oldstate == TCP_CLOSE && ctx->newstate == TCP_SYN_SENT) {
		fill_hdr(&e.hdr, EV_NET);
		bpf_map_update_elem(&connecting, &sk, &e.hdr, BPF_ANY);
		return 0;
	}
	if (ctx->oldstate == TCP_SYN_SENT) {
		struct ev_hdr *owner = bpf_map_lookup_elem(&connecting, &sk);
		if (!owner)
			return 0;
		e.hdr = *owner;
		bpf_map_delete_elem(&connecting, &sk);
		e.hdr.ts_ns = bpf_ktime_get_boot_ns();
		e.op = ctx->newstate == TCP_ESTABLISHED ? NET_OP_CONNECT : NET_OP_CONNECT_FAILED;
	} else if (ctx->oldstate == TCP_CLOSE && ctx->newstate == TCP_LISTEN) {
		fill_hdr(&e.hdr, EV_NET);
		e.op = NET_OP_LISTEN;
	} else {
		return 0;
	}
	e.family = ctx->family;
	e.protocol = ctx->protocol;
	e.sport = ctx->sport;
	e.dport = ctx->dport;
	copy_addrs(&e, ctx);
	EMIT(events, e.op == NET_OP_LISTEN ? SLOT_LISTEN : SLOT_CONNECT, &e, sizeof(e));
	return 0;
}

static __always_inline int accept_exit(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0)
		return 0;
	struct sock *sk = fd_sock(ctx->ret);
	if (!sk)
		return 0;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP ||
	    (family != AF_INET && family != AF_INET6))
		return 0;
	struct net_event e = {};
	fill_hdr(&e.hdr, EV_NET);
	e.op = NET_OP_ACCEPT;
	e.family = family;
	e.protocol = IPPROTO_TCP;
	e.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e.dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		BPF_CORE_READ_INTO(&e.saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO(&e.daddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO(&e.saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&e.daddr, sk, __sk_common.skc_v6_daddr);
	}
	EMIT(events, SLOT_ACCEPT, &e, sizeof(e));
	return 0;
}

SEC("tp/syscalls/sys_exit_accept")
int handle_accept(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx);
}

SEC("tp/syscalls/sys_exit_accept4")
int handle_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx);
}
