// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD shim for libtracefs clients (trace-cmd): points libtracefs at the tracing
 * directory named by $EVENTFS_TRACING_DIR instead of the tracefs it finds in
 * /proc/mounts, so that an unmodified client works on an eventfs mount. A test client,
 * not part of the module.
 */
#include <stdio.h>
#include <stdlib.h>
#include <tracefs.h>

__attribute__((constructor)) static void eventfs_redirect(void)
{
	char *dir = getenv("EVENTFS_TRACING_DIR");

	if (dir && tracefs_set_tracing_dir(dir) != 0)
		fprintf(stderr, "tracefs-redirect: cannot use %s\n", dir);
}
