/* DNS family: queries sent over UDP to port 53, payload copied for parsing in user space.
 *
 * Hooked at send time (sendto/sendmsg/sendmmsg entry) because that is where the owning task and
 * the plaintext question are both at hand. The destination comes from the call's address, or from
 * the socket itself when it is connected (glibc's resolver connects, then uses sendmmsg). */
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

enum { SLOT_SENDTO, SLOT_SENDMSG, SLOT_SENDMMSG };

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_UDP 17
#define DNS_PORT 53

/* Fill family/port/address from a user sockaddr, or from the connected socket. Returns 0 when
 * the datagram goes to UDP port 53. */
static __always_inline int dns_dest(struct dns_event *e, struct sock *sk, void *uaddr)
{
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP)
		return -1;
	if (uaddr) {
		struct sockaddr_in6 sa = {};
		if (bpf_probe_read_user(&sa, sizeof(sa), uaddr))
			return -1;
		e->family = sa.sin6_family;
		e->dport = bpf_ntohs(sa.sin6_port);
		if (e->family == AF_INET)
			__builtin_memcpy(e->daddr, &((struct sockaddr_in *)&sa)->sin_addr, 4);
		else
			__builtin_memcpy(e->daddr, &sa.sin6_addr, 16);
	} else {
		e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
		e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		if (e->family == AF_INET)
			BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_daddr);
		else
			BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr);
	}
	if (e->dport != DNS_PORT || (e->family != AF_INET && e->family != AF_INET6))
		return -1;
	return 0;
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
	if (dns_dest(e, sk, uaddr))
		return 0;
	fill_hdr(&e->hdr, EV_DNS);
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

static __always_inline int send_msghdr(int fd, struct user_msghdr *um, __u32 slot)
{
	struct user_msghdr m = {};
	struct iovec iov = {};
	if (bpf_probe_read_user(&m, sizeof(m), um) || !m.msg_iov || !m.msg_iovlen)
		return 0;
	if (bpf_probe_read_user(&iov, sizeof(iov), m.msg_iov))
		return 0;
	return send_dns(fd, m.msg_name, iov.iov_base, iov.iov_len, slot);
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
