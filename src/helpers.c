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

bool eventfs_helper_uid_eq(kuid_t a, kuid_t b)
{
	return uid_eq(a, b);
}

bool eventfs_helper_gid_eq(kgid_t a, kgid_t b)
{
	return gid_eq(a, b);
}

/* GLOBAL_ROOT_UID/GID are macros. */
kuid_t eventfs_helper_global_root_uid(void)
{
	return GLOBAL_ROOT_UID;
}

kgid_t eventfs_helper_global_root_gid(void)
{
	return GLOBAL_ROOT_GID;
}
