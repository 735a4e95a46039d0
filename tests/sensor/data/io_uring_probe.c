/* Test helper: set up an io_uring and submit one NOP and one OPENAT of argv[1] through it, with
 * raw syscalls only (no liburing here). Exit 0 when the open completed. */
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	int fd = syscall(__NR_io_uring_setup, 4, &p);
	if (fd < 0 || argc < 2)
		return 2;
	size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(0, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, IORING_OFF_SQ_RING);
	char *cq = mmap(0, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes = mmap(0, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
					 MAP_SHARED, fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		return 3;
	unsigned *array = (unsigned *)(sq + p.sq_off.array);
	memset(sqes, 0, 2 * sizeof(*sqes));
	sqes[0].opcode = IORING_OP_NOP;
	sqes[1].opcode = IORING_OP_OPENAT;
	sqes[1].fd = AT_FDCWD;
	sqes[1].addr = (unsigned long)argv[1];
	sqes[1].open_flags = O_RDONLY;
	array[0] = 0;
	array[1] = 1;
	atomic_store_explicit((_Atomic unsigned *)(sq + p.sq_off.tail), 2, memory_order_release);
	if (syscall(__NR_io_uring_enter, fd, 2, 2, IORING_ENTER_GETEVENTS, NULL, 0) != 2)
		return 4;
	unsigned head = *(unsigned *)(cq + p.cq_off.head);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	int ok = 0;
	for (int i = 0; i < 2; i++)
		ok += cqes[(head + i) & (p.cq_entries - 1)].res >= 0;
	return ok == 2 ? 0 : 5;
}
