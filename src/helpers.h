/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prototypes of the C wrappers in helpers.c. Each wraps one static inline function or
 * macro that Rust cannot call; none holds logic of its own.
 */
#ifndef EVENTFS_HELPERS_H
#define EVENTFS_HELPERS_H

#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/uidgid.h>
#include <linux/srcu.h>
#include <linux/sched/mm.h>
#include <linux/xarray.h>
#include <linux/ratelimit.h>
#include <linux/rhashtable.h>
#include <linux/ring_buffer.h>
#include <linux/preempt.h>
#include <linux/irqflags.h>
#include <linux/sched.h>
#include <linux/cpumask.h>
#include <linux/wait.h>
#include <linux/irq_work.h>
#include <linux/poll.h>
#include <linux/kprobes.h>
#include <linux/ptrace.h>

int eventfs_helper_fs_parse(struct fs_context *fc, const struct fs_parameter_spec *desc,
			    struct fs_parameter *param, struct fs_parse_result *result);
int eventfs_helper_invalfc(struct fs_context *fc, const char *msg);
uid_t eventfs_helper_from_kuid_munged(kuid_t uid);
gid_t eventfs_helper_from_kgid_munged(kgid_t gid);

int eventfs_helper_srcu_read_lock(void);
void eventfs_helper_srcu_read_unlock(int idx);
void eventfs_helper_call_srcu(struct rcu_head *head, rcu_callback_t func);
void eventfs_helper_srcu_barrier(void);
bool eventfs_helper_dir_emit(struct dir_context *ctx, const char *name, int namelen, u64 ino,
			     unsigned int type);
bool eventfs_helper_dir_emit_dots(struct file *file, struct dir_context *ctx);
unsigned int eventfs_helper_memalloc_nofs_save(void);
void eventfs_helper_memalloc_nofs_restore(unsigned int flags);

int eventfs_helper_xa_reserve(struct xarray *xa, unsigned long index, gfp_t gfp);
void eventfs_helper_xa_release(struct xarray *xa, unsigned long index);
bool eventfs_helper_ratelimit(void);
int eventfs_helper_rht_init(struct rhashtable *ht, const struct rhashtable_params *params);
void *eventfs_helper_rht_lookup(struct rhashtable *ht, const void *key,
				const struct rhashtable_params *params);
int eventfs_helper_rht_insert(struct rhashtable *ht, struct rhash_head *obj,
			      const struct rhashtable_params *params);
int eventfs_helper_rht_remove(struct rhashtable *ht, struct rhash_head *obj,
			      const struct rhashtable_params *params);

struct trace_buffer *eventfs_helper_ring_buffer_alloc(unsigned long size, unsigned int flags);
unsigned int eventfs_helper_preempt_count(void);
bool eventfs_helper_irqs_disabled(void);
bool eventfs_helper_need_resched(void);
unsigned int eventfs_helper_num_online_cpus(void);

/* A task name, by value (get_task_comm() needs an array it can take the size of). */
struct eventfs_comm {
	char name[TASK_COMM_LEN];
};

pid_t eventfs_helper_current_pid(void);
struct eventfs_comm eventfs_helper_current_comm(void);
unsigned int eventfs_helper_current_migration_disabled(void);

void eventfs_helper_init_waitqueue_head(struct wait_queue_head *wq);
void eventfs_helper_init_irq_work(struct irq_work *work, void (*func)(struct irq_work *));
void eventfs_helper_poll_wait(struct file *file, struct wait_queue_head *wq,
			      struct poll_table_struct *pt);

unsigned long eventfs_helper_stack_nth(struct pt_regs *regs, unsigned int n);
struct kretprobe *eventfs_helper_get_kretprobe(struct kretprobe_instance *ri);
unsigned long eventfs_helper_kretprobe_retaddr(struct kretprobe_instance *ri);
unsigned long eventfs_helper_task_size(void);

#endif /* EVENTFS_HELPERS_H */
