/* Event records shared by the BPF programs and the Python decoders.
 *
 * Defined once, here. src/aurora/sensor/linux/records.py mirrors them with ctypes, and
 * tests/sensor/test_btf_layout.py checks every mirror against the BTF of the compiled objects, so
 * a change on one side without the other fails the suite.
 */
#pragma once

#define COMM_LEN 16
#define EXEC_PATH_MAX 1024
#define ARGV_MAX 4096
#define FILENAME_MAX 256
#define CGROUP_NAME_MAX 128
#define TTY_NAME_MAX 32
#define FILE_PATH_MAX 1024
#define DNS_PAYLOAD_MAX 512
#define MODULE_ARGS_MAX 128

enum event_kind {
	EV_EXEC = 1,
	EV_FORK = 2,
	EV_EXIT = 3,
	EV_SETID = 4,
	EV_PTRACE = 5,
	EV_NET = 10,
	EV_DNS = 20,
	EV_DNS_TCP = 21,        /* a question sent over TCP (dns.bpf.c) */
	EV_DNS_ANSWER = 22,     /* an answer received over UDP (dns.bpf.c) */
	EV_DNS_TCP_ANSWER = 23, /* an answer received over TCP (dns.bpf.c) */
	EV_FILE = 30,
	EV_KMOD = 40,
	EV_BPF = 41,
	EV_GUARD = 50,
	/* escape family (escape.bpf.c): 60-79 */
	EV_NS = 60,
	EV_MOUNT = 61,
	EV_CAPSET = 62,
	EV_RENAME = 63,
	EV_MEMFD = 64,
	EV_IOURING = 65,
	EV_RELEASE_AGENT = 66,
};

/* Common to every record: who did it and when. ts_ns and start_ns are CLOCK_BOOTTIME. */
struct ev_hdr {
	__u64 ts_ns;
	__u64 cgroup_id;
	__u64 start_ns;
	__u32 kind;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	char comm[COMM_LEN];
};

#define EXEC_F_ARGV_TRUNCATED 1
#define EXEC_F_EXE_UNLINKED 2
#define EXEC_F_EXE_TRUNCATED 4
#define EXEC_F_CWD_TRUNCATED 8

/* The four strings travel back to back in strings[] (filename, exe, cwd, argv; their lengths
 * above, no NUL between them), so a record is as long as what it says: a few hundred bytes for
 * most execs, not the 6 KiB of fixed fields, which the process ring then holds six times more of.
 * EXEC_STRINGS_MAX is the verifier's bound (an offset masked to 4095 plus a length masked to
 * 8191), not the most a record carries (FILENAME_MAX + 2 * EXEC_PATH_MAX + ARGV_MAX). */
#define EXEC_STRINGS_MAX (4096 + 8192)
struct exec_event {
	struct ev_hdr hdr;
	__u64 exe_ino;
	__u64 exe_mtime_ns;
	__u32 exe_dev;
	__u32 flags;
	__u32 euid;
	__u32 egid;
	__u32 suid;
	__u32 sgid;
	__u32 loginuid;
	__u32 sessionid;
	__u32 old_pid;
	__u16 exe_len;
	__u16 cwd_len;
	__u16 argv_len;
	__u16 filename_len;
	__u32 args_size;
	char tty[TTY_NAME_MAX];
	char cgroup[CGROUP_NAME_MAX];
	char strings[EXEC_STRINGS_MAX];
};

/* hdr describes the new child; hdr.ppid is the parent's tgid. */
struct fork_event {
	struct ev_hdr hdr;
};

struct exit_event {
	struct ev_hdr hdr;
	__u32 exit_code;
	__u32 _pad;
};

/* Credentials after a successful setuid/setgid-family call. */
struct setid_event {
	struct ev_hdr hdr;
	__u32 syscall_nr;
	__u32 euid;
	__u32 suid;
	__u32 fsuid;
	__u32 egid;
	__u32 sgid;
	__u32 fsgid;
	__u32 _pad;
};

#define PTRACE_OP_ATTACH 1
#define PTRACE_OP_POKE 2
#define PTRACE_OP_VM_WRITEV 3

struct ptrace_event {
	struct ev_hdr hdr;
	__u64 request;
	__u32 target_pid;
	__u32 op;
};

#define NET_OP_CONNECT 1
#define NET_OP_ACCEPT 2
#define NET_OP_LISTEN 3
#define NET_OP_CONNECT_FAILED 4

struct net_event {
	struct ev_hdr hdr;
	__u16 family;
	__u16 protocol;
	__u16 sport;
	__u16 dport;
	__u32 op;
	__u32 _pad;
	__u8 saddr[16];
	__u8 daddr[16];
};

/* EV_DNS and EV_DNS_TCP: daddr/dport are the server asked. EV_DNS_ANSWER and
 * EV_DNS_TCP_ANSWER: the same fields name the server that answered (the packet's source). A TCP
 * payload is the stream's bytes as sent or received, 2-byte length prefix included. */
struct dns_event {
	struct ev_hdr hdr;
	__u16 family;
	__u16 dport;
	__u16 payload_len;
	__u16 _pad;
	__u8 daddr[16];
	__u8 payload[DNS_PAYLOAD_MAX];
};

#define FILE_OP_CREATE 1
#define FILE_OP_OPEN_WRITE 2
#define FILE_OP_DELETE 3
#define FILE_OP_RENAME 4
#define FILE_OP_CHMOD 5
#define FILE_OP_CHOWN 6
#define FILE_OP_OPEN_READ 7 /* a read-only open of a path on the read watch list */

struct file_event {
	struct ev_hdr hdr;
	__u32 op;
	__u32 open_flags;
	__u32 mode;
	__u32 owner_uid;
	__u32 owner_gid;
	__u16 path_len;
	__u16 path2_len;
	char path[FILE_PATH_MAX];
	char path2[FILE_PATH_MAX];
};

#define KMOD_OP_INIT 1
#define KMOD_OP_FINIT 2

struct kmod_event {
	struct ev_hdr hdr;
	__u32 op;
	__u32 flags;
	__u64 image_len;
	__u16 path_len;
	__u16 _pad[3];
	char args[MODULE_ARGS_MAX];
	char path[FILE_PATH_MAX];
};

struct bpf_event {
	struct ev_hdr hdr;
	__u32 cmd;
	__u32 prog_type;
	__u32 insn_cnt;
	__u32 _pad;
	char prog_name[16];
};

/* One watched-path rule, filled from user space before attach. pattern is a path prefix; '*'
 * matches the rest of one path component: "/home/STAR/.ssh", "/root/.ssh/id_STAR" with STAR a
 * literal asterisk. */
#define WATCH_RULES_MAX 32
#define WATCH_PATTERN_MAX 128
#define WATCH_F_EXEC_ONLY 1

/* The read watch list (read_rules in file.bpf.c) holds the same rules, without flags. Its
 * anchors (read_anchors) are, per rule, the last path component without '*': a path that has
 * none of them as a component cannot match, which a walk up the dentries tells before any string
 * is built. */
#define READ_RULES_MAX 32
#define ANCHOR_MAX 32

struct read_anchor {
	char name[ANCHOR_MAX];
};

struct watch_rule {
	__u32 len;
	__u32 flags;
	char pattern[WATCH_PATTERN_MAX];
};

#define GUARD_OP_SIGNAL 1
#define GUARD_OP_PTRACE 2
#define GUARD_OP_VM_WRITEV 3

/* Something aimed at the sensor's own processes (guard.bpf.c): hdr is the sender, target_pid
 * the sensor process, arg the signal number or ptrace request. */
struct guard_event {
	struct ev_hdr hdr;
	__u64 arg;
	__u32 target_pid;
	__u32 op;
};

/* ---- escape family (escape.bpf.c): namespaces, mounts, capabilities, renames, memfd, io_uring */

#define NS_OP_UNSHARE 1
#define NS_OP_SETNS 2
#define NS_OP_CLONE 3
#define NS_OP_CLONE3 4

/* A new namespace asked for (unshare, clone, clone3 with CLONE_NEW* flags) or one joined (setns).
 * For setns the namespace behind the descriptor is read in the kernel: its type and inode number,
 * and the caller's own namespace of that type before it joins. */
struct ns_event {
	struct ev_hdr hdr;
	__u64 flags;
	__u32 op;
	__u32 ns_type;
	__u32 target_inum;
	__u32 own_inum;
	__u32 target_pid;
	__s32 fd;
};

#define MOUNT_OP_MOUNT 1
#define MOUNT_OP_PIVOT_ROOT 2
#define MOUNT_STR_MAX 256
#define FSTYPE_MAX 32

/* mount(2) and pivot_root(2), sent when the call returns (ret is its result). Strings are the
 * caller's arguments as given; pivot_root's new_root is in source, put_old in target. */
struct mount_event {
	struct ev_hdr hdr;
	__u64 flags;
	__s32 ret;
	__u32 op;
	__u32 mnt_ns;
	__u32 _pad;
	char fstype[FSTYPE_MAX];
	char source[MOUNT_STR_MAX];
	char target[MOUNT_STR_MAX];
};

/* A successful capset: the task's capability sets afterwards; hdr.uid is the real uid. */
struct capset_event {
	struct ev_hdr hdr;
	__u64 effective;
	__u64 permitted;
	__u64 inheritable;
	__u32 euid;
	__u32 user_ns; /* inode of the task's user namespace: capabilities count only inside it */
};

/* prctl(PR_SET_NAME) of a process's main thread to a different name: hdr.comm is the old name. */
struct rename_event {
	struct ev_hdr hdr;
	char new_name[COMM_LEN];
};

#define MEMFD_NAME_MAX 256

struct memfd_event {
	struct ev_hdr hdr;
	__u32 flags;
	__u32 _pad;
	char name[MEMFD_NAME_MAX];
};

#define IOURING_OP_SETUP 1
#define IOURING_OP_SUBMIT 2
#define IOURING_OPNAME_MAX 24

/* io_uring: a ring created (fd, sizes, setup flags) or the first submission of one opcode on a
 * ring (later ones of the same opcode on the same ring are not sent). */
struct iouring_event {
	struct ev_hdr hdr;
	__u32 op;
	__s32 fd;
	__u32 sq_entries;
	__u32 cq_entries;
	__u32 setup_flags;
	__u32 opcode;
	__u32 sq_thread;
	__u32 _pad;
	char op_name[IOURING_OPNAME_MAX];
};

/* A cgroup v1 release_agent opened for writing (the classic container escape); path resolved from
 * the new descriptor. */
struct release_agent_event {
	struct ev_hdr hdr;
	__u32 open_flags;
	__u16 path_len;
	__u16 _pad;
	char path[FILE_PATH_MAX];
};
