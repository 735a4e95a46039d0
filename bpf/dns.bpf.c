/* DNS family: questions sent to port 53 over UDP and TCP, and the answers read back from it.
 *
 * Hooked on the syscall tracepoints (kprobes and fentry are not available on every kernel we run
 * on), at send time for questions, where the owning task and the plaintext are both at hand, and
 * around the receive calls for answers: the buffer is noted at entry, copied at exit once the
 * call has said how many bytes it filled. The filter is port 53, from the call's address or the
 * connected socket, so nothing else leaves the kernel. glibc's resolver connects, then uses
 * sendmmsg and recvfrom; a TCP stream may be written with write/writev/send and read with read/
 * recv. Payloads are copied raw (a TCP one with its 2-byte length prefix); user space parses.
 *
 * read and write are the host's busiest calls, and telling a DNS stream among them means walking
 * from the descriptor to its socket. So they are looked at only in processes that connected a TCP
 * socket to port 53 themselves (marked at connect), and the receive exits look up their pending
 * entry only while one exists: every other read and write costs a map lookup. A stream inherited
 * across fork or passed over a Unix socket is seen by send/recv, not by read/write
 * (docs/visibility-linux.md). */
#include "aurora.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_event);
} scratch_map SEC(".maps");

/* A receive on a socket that may be bringing an answer, by thread, until its exit. */
struct pending_recv {
	__u64 buf;
	__u64 uaddr; /* where an unconnected UDP socket's source address is written, or 0 */
	__u16 family;
	__u16 tcp;
	__u32 connected;
	__u8 daddr[16];
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct pending_recv);
} pending_recv SEC(".maps");

/* Processes (tgid) that connected a TCP socket to port 53: only theirs are read/write checked. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} tcp_dns_tasks SEC(".maps");

/* How many pending_recv entries there are, roughly: the exits skip their lookup at zero. An entry
 * lost without its exit (LRU eviction) leaves it above zero, which costs lookups, never events. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
} pending_n SEC(".maps");

static __always_inline __s64 *pending_count(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&pending_n, &zero);
}

static __always_inline int tcp_dns_task(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	return bpf_map_lookup_elem(&tcp_dns_tasks, &tgid) != NULL;
}

/* Drop slots: the UDP questions by syscall as before, then one slot per new kind of record. */
enum { SLOT_SENDTO, SLOT_SENDMSG, SLOT_SENDMMSG, SLOT_TCP_QUERY, SLOT_ANSWER };

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define DNS_PORT 53
/* Shorter than a DNS header: a TCP length prefix written or read on its own. */
#define DNS_HEADER_LEN 12

static __always_inline void sock_peer(struct dns_event *e, struct sock *sk)
{
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (e->family == AF_INET)
		BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_daddr);
	else
		BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr);
}

/* Family, port and address from a user sockaddr. */
static __always_inline int user_peer(struct dns_event *e, void *uaddr)
{
	struct sockaddr_in6 sa = {};
	if (bpf_probe_read_user(&sa, sizeof(sa), uaddr))
		return -1;
	e->family = sa.sin6_family;
	e->dport = bpf_ntohs(sa.sin6_port);
	if (e->family == AF_INET)
		__builtin_memcpy(e->daddr, &((struct sockaddr_in *)&sa)->sin_addr, 4);
	else
		__builtin_memcpy(e->daddr, &sa.sin6_addr, 16);
	return 0;
}

/* The record kind of a message sent on sk (to uaddr when given): EV_DNS for UDP to port 53,
 * EV_DNS_TCP for a TCP connection to port 53, 0 for anything else. */
static __always_inline __u32 dns_dest(struct dns_event *e, struct sock *sk, void *uaddr)
{
	__u16 proto = BPF_CORE_READ(sk, sk_protocol);
	if (proto == IPPROTO_UDP && uaddr) {
		if (user_peer(e, uaddr))
			return 0;
	} else if (proto == IPPROTO_UDP || proto == IPPROTO_TCP) {
		sock_peer(e, sk);
	} else {
		return 0;
	}
	if (e->dport != DNS_PORT || (e->family != AF_INET && e->family != AF_INET6))
		return 0;
	return proto == IPPROTO_TCP ? EV_DNS_TCP : EV_DNS;
}

static __always_inline int send_dns(int fd, void *uaddr, const void *buf, __u64 len, __u32 slot)
{
	struct sock *sk = fd_sock(fd);
	if (!sk)
		return 0;
	__u32 zero = 0;
	struct dns_event *e = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!e)
		return 0;
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	__u32 kind = dns_dest(e, sk, uaddr);
	if (!kind)
		return 0;
	if (kind == EV_DNS_TCP) {
		if (len < DNS_HEADER_LEN) /* the length prefix alone; the message follows */
			return 0;
		slot = SLOT_TCP_QUERY;
	}
	fill_hdr(&e->hdr, kind);
	if (len > DNS_PAYLOAD_MAX)
		len = DNS_PAYLOAD_MAX;
	if (bpf_probe_read_user(e->payload, MASK(len, 1023) & (DNS_PAYLOAD_MAX * 2 - 1), buf))
		return 0;
	e->payload_len = len;
	EMIT(events, slot, e, sizeof(*e));
	return 0;
}

SEC("tp/syscalls/sys_enter_sendto")
int handle_sendto(struct trace_event_raw_sys_enter *ctx)
{
	return send_dns(ctx->args[0], (void *)ctx->args[4], (void *)ctx->args[1], ctx->args[2],
			SLOT_SENDTO);
}

/* A message's first iovec. A TCP client writing [length prefix, message] as two iovecs is seen
 * by its second one, which is the whole DNS message. */
static __always_inline int send_iovecs(int fd, void *uaddr, struct iovec *uiov, __u64 n,
				       __u32 slot)
{
	struct iovec iov = {};
	if (!uiov || !n || bpf_probe_read_user(&iov, sizeof(iov), uiov))
		return 0;
	if (iov.iov_len == 2 && n > 1 && bpf_probe_read_user(&iov, sizeof(iov), &uiov[1]))
		return 0;
	return send_dns(fd, uaddr, iov.iov_base, iov.iov_len, slot);
}

static __always_inline int send_msghdr(int fd, struct user_msghdr *um, __u32 slot)
{
	struct user_msghdr m = {};
	if (bpf_probe_read_user(&m, sizeof(m), um))
		return 0;
	return send_iovecs(fd, m.msg_name, m.msg_iov, m.msg_iovlen, slot);
}

SEC("tp/syscalls/sys_enter_sendmsg")
int handle_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	return send_msghdr(ctx->args[0], (struct user_msghdr *)ctx->args[1], SLOT_SENDMSG);
}

/* glibc sends the A and AAAA questions as two messages of one sendmmsg. */
SEC("tp/syscalls/sys_enter_sendmmsg")
int handle_sendmmsg(struct trace_event_raw_sys_enter *ctx)
{
	struct mmsghdr *vec = (struct mmsghdr *)ctx->args[1];
	__u32 vlen = ctx->args[2];
	if (vlen > 0)
		send_msghdr(ctx->args[0], &vec[0].msg_hdr, SLOT_SENDMMSG);
	if (vlen > 1)
		send_msghdr(ctx->args[0], &vec[1].msg_hdr, SLOT_SENDMMSG);
	return 0;
}

/* A TCP socket connected to port 53 marks its process for the read/write checks below. Family
 * and port sit at the same offsets in sockaddr_in and sockaddr_in6. */
SEC("tp/syscalls/sys_enter_connect")
int handle_connect(struct trace_event_raw_sys_enter *ctx)
{
	__u16 head[2] = {};
	if (bpf_probe_read_user(head, sizeof(head), (void *)ctx->args[1]))
		return 0;
	if ((head[0] != AF_INET && head[0] != AF_INET6) || bpf_ntohs(head[1]) != DNS_PORT)
		return 0;
	struct sock *sk = fd_sock(ctx->args[0]);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u8 one = 1;
	bpf_map_update_elem(&tcp_dns_tasks, &tgid, &one, BPF_ANY);
	return 0;
}

/* write and writev: TCP streams to port 53, in the processes that connected one. */
SEC("tp/syscalls/sys_enter_write")
int handle_write(struct trace_event_raw_sys_enter *ctx)
{
	if (!tcp_dns_task())
		return 0;
	return send_dns(ctx->args[0], NULL, (void *)ctx->args[1], ctx->args[2], SLOT_SENDTO);
}

SEC("tp/syscalls/sys_enter_writev")
int handle_writev(struct trace_event_raw_sys_enter *ctx)
{
	if (!tcp_dns_task())
		return 0;
	return send_iovecs(ctx->args[0], NULL, (struct iovec *)ctx->args[1], ctx->args[2],
			   SLOT_SENDMSG);
}

/* ---- answers: note the buffer at entry, copy it at exit -------------------------------- */

static __always_inline int recv_enter(int fd, __u64 buf, __u64 uaddr)
{
	struct sock *sk = fd_sock(fd);
	if (!sk || !buf)
		return 0;
	__u16 proto = BPF_CORE_READ(sk, sk_protocol);
	if (proto != IPPROTO_UDP && proto != IPPROTO_TCP)
		return 0;
	struct pending_recv p = {.buf = buf, .tcp = proto == IPPROTO_TCP};
	__u16 dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (dport) {
		/* connected: the peer is known now, and it is port 53 or nothing */
		if (dport != DNS_PORT)
			return 0;
		p.connected = 1;
		p.family = BPF_CORE_READ(sk, __sk_common.skc_family);
		if (p.family == AF_INET)
			BPF_CORE_READ_INTO(&p.daddr, sk, __sk_common.skc_daddr);
		else
			BPF_CORE_READ_INTO(&p.daddr, sk, __sk_common.skc_v6_daddr);
	} else if (proto != IPPROTO_UDP || !uaddr) {
		return 0; /* a listener, or a datagram whose sender the caller does not ask for */
	}
	p.uaddr = uaddr;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__s64 *n = pending_count();
	if (n && !bpf_map_lookup_elem(&pending_recv, &tid))
		__sync_fetch_and_add(n, 1);
	bpf_map_update_elem(&pending_recv, &tid, &p, BPF_ANY);
	return 0;
}

static __always_inline int recv_exit(long ret)
{
	__s64 *pending = pending_count();
	if (!pending || *pending <= 0)
		return 0;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending_recv *pp = bpf_map_lookup_elem(&pending_recv, &tid);
	if (!pp)
		return 0;
	struct pending_recv p = *pp;
	if (!bpf_map_delete_elem(&pending_recv, &tid))
		__sync_fetch_and_add(pending, -1);
	if (ret < DNS_HEADER_LEN)
		return 0;
	__u32 zero = 0;
	struct dns_event *e = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!e)
		return 0;
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	if (p.connected) {
		e->family = p.family;
		e->dport = DNS_PORT;
		__builtin_memcpy(e->daddr, p.daddr, 16);
	} else if (user_peer(e, (void *)p.uaddr) || e->dport != DNS_PORT) {
		return 0;
	}
	if (e->family != AF_INET && e->family != AF_INET6)
		return 0;
	fill_hdr(&e->hdr, p.tcp ? EV_DNS_TCP_ANSWER : EV_DNS_ANSWER);
	__u64 n = ret > DNS_PAYLOAD_MAX ? DNS_PAYLOAD_MAX : ret;
	if (bpf_probe_read_user(e->payload, MASK(n, 1023) & (DNS_PAYLOAD_MAX * 2 - 1),
				(void *)p.buf))
		return 0;
	e->payload_len = n;
	EMIT(events, SLOT_ANSWER, e, sizeof(*e));
	return 0;
}

SEC("tp/syscalls/sys_enter_recvfrom")
int enter_recvfrom(struct trace_event_raw_sys_enter *ctx)
{
	return recv_enter(ctx->args[0], ctx->args[1], ctx->args[4]);
}

SEC("tp/syscalls/sys_enter_read")
int enter_read(struct trace_event_raw_sys_enter *ctx)
{
	if (!tcp_dns_task())
		return 0;
	return recv_enter(ctx->args[0], ctx->args[1], 0);
}

SEC("tp/syscalls/sys_enter_recvmsg")
int enter_recvmsg(struct trace_event_raw_sys_enter *ctx)
{
	struct user_msghdr m = {};
	struct iovec iov = {};
	if (bpf_probe_read_user(&m, sizeof(m), (void *)ctx->args[1]) || !m.msg_iov ||
	    !m.msg_iovlen || bpf_probe_read_user(&iov, sizeof(iov), m.msg_iov))
		return 0;
	return recv_enter(ctx->args[0], (__u64)iov.iov_base, (__u64)m.msg_name);
}

#define RECV_EXIT(name)                                                    \
	SEC("tp/syscalls/sys_exit_" #name)                                 \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)              \
	{                                                                  \
		return recv_exit(ctx->ret);                                \
	}
RECV_EXIT(recvfrom)
RECV_EXIT(read)
RECV_EXIT(recvmsg)
