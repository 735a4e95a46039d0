/* Constants and kernel-side types of the escape family (escape.bpf.c): the uapi values it tests
 * (vmlinux.h carries types, not #defines) and the keys of its maps. */
#pragma once

#define CLONE_NEWTIME 0x00000080
#define CLONE_NEWNS 0x00020000
#define CLONE_NEWCGROUP 0x02000000
#define CLONE_NEWUTS 0x04000000
#define CLONE_NEWIPC 0x08000000
#define CLONE_NEWUSER 0x10000000
#define CLONE_NEWPID 0x20000000
#define CLONE_NEWNET 0x40000000
/* clone(2) keeps the exit signal in the low byte, so CLONE_NEWTIME is not one of its flags. */
#define CLONE_NEW_MASK                                                                    \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |     \
	 CLONE_NEWPID | CLONE_NEWNET)

#define NSFS_MAGIC 0x6e736673
#define PIDFS_MAGIC 0x50494446

#define MS_REMOUNT 32
#define MS_BIND 4096
#define MS_UNBINDABLE (1 << 17)
#define MS_PRIVATE (1 << 18)
#define MS_SLAVE (1 << 19)
#define MS_SHARED (1 << 20)
#define MS_PROPAGATION (MS_UNBINDABLE | MS_PRIVATE | MS_SLAVE | MS_SHARED)

#define PR_SET_NAME 15

#define O_ACCMODE 3
#define RELEASE_AGENT "release_agent"
#define RELEASE_AGENT_LEN 13

/* Kernels before 6.18 kept a namespace's type in its operations. */
struct proc_ns_operations___old {
	int type;
};

/* Key of the map of io_uring (ring, opcode) pairs already reported. */
struct ring_op {
	__u64 ring;
	__u32 opcode;
	__u32 _pad;
};
