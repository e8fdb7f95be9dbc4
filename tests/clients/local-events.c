// SPDX-License-Identifier: GPL-2.0
/*
 * local-events DIR: what libtracefs makes of the tracing directory DIR
 * (tracefs_local_events(): header_page and every events/SYSTEM/EVENT/format, parsed by
 * libtraceevent). Prints the sub-buffer size, then one line per event, sorted:
 *   SYSTEM:NAME ID FIELD@OFFSET/SIZE ... (FAILED if libtraceevent could not parse it)
 * with the declared fields (not the common ones) in format order. A test client, not
 * part of the module.
 */
#include <stdio.h>
#include <stdlib.h>
#include <tracefs.h>
#include <event-parse.h>

int main(int argc, char **argv)
{
	struct tep_event **events;
	struct tep_handle *tep;
	int i, j, n;

	if (argc != 2) {
		fprintf(stderr, "usage: local-events TRACING_DIR\n");
		return 2;
	}
	if (tracefs_set_tracing_dir(argv[1]) != 0) {
		fprintf(stderr, "local-events: cannot use %s\n", argv[1]);
		return 1;
	}
	tep = tracefs_local_events(argv[1]);
	if (!tep) {
		fprintf(stderr, "local-events: tracefs_local_events(%s) failed\n", argv[1]);
		return 1;
	}
	printf("sub-buffer %d\n", tep_get_sub_buffer_size(tep));
	n = tep_get_events_count(tep);
	events = tep_list_events(tep, TEP_EVENT_SORT_SYSTEM);
	for (i = 0; events && i < n; i++) {
		struct tep_event *ev = events[i];
		struct tep_format_field **fields = tep_event_fields(ev);

		printf("%s:%s %d", ev->system, ev->name, ev->id);
		for (j = 0; fields && fields[j]; j++)
			printf(" %s@%d/%d", fields[j]->name, fields[j]->offset, fields[j]->size);
		if (ev->flags & TEP_EVENT_FL_FAILED)
			printf(" FAILED");
		printf("\n");
		free(fields);
	}
	tep_free(tep);
	return 0;
}
