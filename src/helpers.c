// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers for static inline functions and macros that the Rust side of eventfs
 * cannot call. No logic lives here: every function body is a single call or constant.
 */
#include "helpers.h"

/* fs_parse() is a static inline around __fs_parse(&fc->log, ...). */
int eventfs_helper_fs_parse(struct fs_context *fc, const struct fs_parameter_spec *desc,
			    struct fs_parameter *param, struct fs_parse_result *result)
{
	return fs_parse(fc, desc, param, result);
}

/* invalfc() is a macro: logs "e <prefix>: msg" to the mount's log and yields -EINVAL. */
int eventfs_helper_invalfc(struct fs_context *fc, const char *msg)
{
	return invalfc(fc, "%s", msg);
}

/* The *_munged conversions are static inlines without CONFIG_USER_NS. */
uid_t eventfs_helper_from_kuid_munged(kuid_t uid)
{
	return from_kuid_munged(current_user_ns(), uid);
}

gid_t eventfs_helper_from_kgid_munged(kgid_t gid)
{
	return from_kgid_munged(current_user_ns(), gid);
}

/*
 * The SRCU domain under which readers walk eventfs' children lists (readdir) without the
 * writer mutex. DEFINE_STATIC_SRCU is a macro; the accessors below are static inlines.
 */
DEFINE_STATIC_SRCU(eventfs_srcu);

int eventfs_helper_srcu_read_lock(void)
{
	return srcu_read_lock(&eventfs_srcu);
}

void eventfs_helper_srcu_read_unlock(int idx)
{
	srcu_read_unlock(&eventfs_srcu, idx);
}

void eventfs_helper_call_srcu(struct rcu_head *head, rcu_callback_t func)
{
	call_srcu(&eventfs_srcu, head, func);
}

void eventfs_helper_srcu_barrier(void)
{
	srcu_barrier(&eventfs_srcu);
}

/* dir_emit() and dir_emit_dots() are static inlines in linux/fs.h. */
bool eventfs_helper_dir_emit(struct dir_context *ctx, const char *name, int namelen, u64 ino,
			     unsigned int type)
{
	return dir_emit(ctx, name, namelen, ino, type);
}

bool eventfs_helper_dir_emit_dots(struct file *file, struct dir_context *ctx)
{
	return dir_emit_dots(file, ctx);
}

/* memalloc_nofs_save()/restore() are static inlines in linux/sched/mm.h. */
unsigned int eventfs_helper_memalloc_nofs_save(void)
{
	return memalloc_nofs_save();
}

void eventfs_helper_memalloc_nofs_restore(unsigned int flags)
{
	memalloc_nofs_restore(flags);
}

/* xa_reserve() and xa_release() are static inlines in linux/xarray.h. */
int eventfs_helper_xa_reserve(struct xarray *xa, unsigned long index, gfp_t gfp)
{
	return xa_reserve(xa, index, gfp);
}

void eventfs_helper_xa_release(struct xarray *xa, unsigned long index)
{
	xa_release(xa, index);
}

/* DEFINE_RATELIMIT_STATE is a macro: the limit for messages users can trigger. */
static DEFINE_RATELIMIT_STATE(eventfs_ratelimit, DEFAULT_RATELIMIT_INTERVAL,
			      DEFAULT_RATELIMIT_BURST);

bool eventfs_helper_ratelimit(void)
{
	return __ratelimit(&eventfs_ratelimit);
}

/*
 * rhashtable_init() is a macro, and the fast-path operations are static inlines taking
 * the parameters by value: the Rust side keeps the parameters and passes them in.
 */
int eventfs_helper_rht_init(struct rhashtable *ht, const struct rhashtable_params *params)
{
	return rhashtable_init(ht, params);
}

void *eventfs_helper_rht_lookup(struct rhashtable *ht, const void *key,
				const struct rhashtable_params *params)
{
	return rhashtable_lookup_fast(ht, key, *params);
}

int eventfs_helper_rht_insert(struct rhashtable *ht, struct rhash_head *obj,
			      const struct rhashtable_params *params)
{
	return rhashtable_insert_fast(ht, obj, *params);
}

int eventfs_helper_rht_remove(struct rhashtable *ht, struct rhash_head *obj,
			      const struct rhashtable_params *params)
{
	return rhashtable_remove_fast(ht, obj, *params);
}

/* ring_buffer_alloc() is a macro: it gives each call site its own lock class key. */
struct trace_buffer *eventfs_helper_ring_buffer_alloc(unsigned long size, unsigned int flags)
{
	return ring_buffer_alloc(size, flags);
}

/* The parts of the context a record's header keeps: static inlines and macros. */
unsigned int eventfs_helper_preempt_count(void)
{
	return preempt_count();
}

bool eventfs_helper_irqs_disabled(void)
{
	return irqs_disabled();
}

bool eventfs_helper_need_resched(void)
{
	return tif_need_resched();
}

unsigned int eventfs_helper_num_online_cpus(void)
{
	return num_online_cpus();
}

/* current is a macro: the fields of the current task a record keeps. */
pid_t eventfs_helper_current_pid(void)
{
	return current->pid;
}

struct eventfs_comm eventfs_helper_current_comm(void)
{
	struct eventfs_comm c;

	get_task_comm(c.name, current);
	return c;
}

unsigned int eventfs_helper_current_migration_disabled(void)
{
	return current->migration_disabled;
}

/* init_waitqueue_head() is a macro: it gives each call site its own lock class key. */
void eventfs_helper_init_waitqueue_head(struct wait_queue_head *wq)
{
	init_waitqueue_head(wq);
}

/* init_irq_work() and poll_wait() are static inlines. */
void eventfs_helper_init_irq_work(struct irq_work *work, void (*func)(struct irq_work *))
{
	init_irq_work(work, func);
}

void eventfs_helper_poll_wait(struct file *file, struct wait_queue_head *wq,
			      struct poll_table_struct *pt)
{
	poll_wait(file, wq, pt);
}

/* regs_get_kernel_stack_nth(), get_kretprobe() and get_kretprobe_retaddr() are static
 * inlines. */
unsigned long eventfs_helper_stack_nth(struct pt_regs *regs, unsigned int n)
{
	return regs_get_kernel_stack_nth(regs, n);
}

struct kretprobe *eventfs_helper_get_kretprobe(struct kretprobe_instance *ri)
{
	return get_kretprobe(ri);
}

unsigned long eventfs_helper_kretprobe_retaddr(struct kretprobe_instance *ri)
{
	return get_kretprobe_retaddr(ri);
}

/* TASK_SIZE is a macro (it depends on the current task). */
unsigned long eventfs_helper_task_size(void)
{
	return TASK_SIZE;
}
